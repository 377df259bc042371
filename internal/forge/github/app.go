package github

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bump-gitops/bump/internal/forge"
	gh "github.com/google/go-github/v60/github"
)

// AppOptions identifies a GitHub App and the repository it should act on.
type AppOptions struct {
	BaseURL    string // as Options.BaseURL
	AppID      int64
	PrivateKey []byte // PEM, as downloaded from the App's settings
	Repo       forge.Repo
	HTTPClient *http.Client
	Retry      forge.RetryOptions
	Timeouts   forge.Timeouts
	Now        func() time.Time // default time.Now
}

// AppToken finds the App's installation on the repository and mints an
// installation token limited to that repository. Two API calls, each
// authenticated by a JWT the App's key signs.
func AppToken(ctx context.Context, opts AppOptions) (string, error) {
	owner, name, ok := strings.Cut(opts.Repo.Path, "/")
	if !ok || owner == "" || name == "" {
		return "", fmt.Errorf("github app: repository %q is not owner/name", opts.Repo.Path)
	}
	if opts.AppID == 0 || len(opts.PrivateKey) == 0 {
		return "", errors.New("github app: app id and private key are required")
	}
	base, err := baseURL(opts.BaseURL)
	if err != nil {
		return "", err
	}
	key, err := parseRSAKey(opts.PrivateKey)
	if err != nil {
		// Never echo the key: the parse error says enough.
		return "", fmt.Errorf("github app %d: read private key: %w", opts.AppID, err)
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	jwt, err := appJWT(key, opts.AppID, now())
	if err != nil {
		return "", fmt.Errorf("github app %d: sign JWT: %w", opts.AppID, err)
	}
	hc, err := forge.NewHTTPClient(forge.ClientOptions{
		Base:       opts.HTTPClient,
		Credential: forge.Credential{Origin: base.String(), Header: "Authorization", Value: "Bearer " + jwt},
		Retry:      opts.Retry,
		Timeouts:   opts.Timeouts,
	})
	if err != nil {
		return "", fmt.Errorf("github app %d: %w", opts.AppID, err)
	}
	c := gh.NewClient(hc)
	c.BaseURL = base
	repo := owner + "/" + name
	inst, _, err := c.Apps.FindRepositoryInstallation(ctx, owner, name)
	if err != nil {
		var er *gh.ErrorResponse
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
			return "", fmt.Errorf("find installation of github app %d: %w: the app is not installed on %s", opts.AppID, forge.ErrNotFound, repo)
		}
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnauthorized {
			return "", fmt.Errorf("find installation of github app %d: %w: github rejected the app's JWT (wrong app id or key)", opts.AppID, forge.ErrUnauthorized)
		}
		return "", mapError(err, fmt.Sprintf("find installation of github app %d", opts.AppID), repo)
	}
	tok, _, err := c.Apps.CreateInstallationToken(ctx, inst.GetID(), &gh.InstallationTokenOptions{Repositories: []string{name}})
	if err != nil {
		return "", mapError(err, fmt.Sprintf("create installation token for github app %d", opts.AppID), repo)
	}
	if tok.GetToken() == "" {
		return "", fmt.Errorf("create installation token for github app %d: github returned no token", opts.AppID)
	}
	return tok.GetToken(), nil
}

// parseRSAKey reads the PEM GitHub hands out (PKCS#1) or its PKCS#8 form.
func parseRSAKey(pemKey []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemKey)
	if block == nil {
		return nil, errors.New("not a PEM key")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("not an RSA private key in PKCS#1 or PKCS#8 form")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("the key is not an RSA key (GitHub Apps use RS256)")
	}
	return rk, nil
}

// appJWT is the RS256 JWT GitHub wants from an App: issued a minute in the
// past against clock drift, valid for nine minutes (GitHub allows ten).
func appJWT(key *rsa.PrivateKey, appID int64, now time.Time) (string, error) {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	claims, err := json.Marshal(map[string]any{
		"iat": now.Add(-time.Minute).Unix(),
		"exp": now.Add(9 * time.Minute).Unix(),
		"iss": strconv.FormatInt(appID, 10),
	})
	if err != nil {
		return "", err
	}
	signed := header + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signed + "." + enc.EncodeToString(sig), nil
}
