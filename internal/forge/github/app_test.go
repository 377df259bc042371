package github

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

// TestAppJWT checks the JWT against RFC 7519/7518 itself (the fake GitHub
// checks it again over the wire): RS256 over header.claims, iss the App
// id, iat a minute back, exp under GitHub's ten minutes.
func TestAppJWT(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	for name, p := range map[string][]byte{
		"pkcs1": pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		"pkcs8": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
	} {
		k, err := parseRSAKey(p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		now := time.Unix(1_700_000_000, 0)
		tok, err := appJWT(k, 42, now)
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			t.Fatalf("%s: %q", name, tok)
		}
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
			t.Errorf("%s: signature: %v", name, err)
		}
		var header map[string]string
		var claims struct {
			Iss      string
			Iat, Exp int64
		}
		hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
		cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
		if json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
			t.Fatalf("%s: %s / %s", name, hb, cb)
		}
		if header["alg"] != "RS256" || claims.Iss != "42" || claims.Iat != now.Unix()-60 || claims.Exp-claims.Iat > 600 || claims.Exp <= now.Unix() {
			t.Errorf("%s: header %v claims %+v", name, header, claims)
		}
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	if _, err := parseRSAKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})); err == nil || !strings.Contains(err.Error(), "RSA") {
		t.Errorf("an EC key: %v", err)
	}
	if _, err := parseRSAKey([]byte("not pem")); err == nil {
		t.Error("garbage parsed")
	}
}
