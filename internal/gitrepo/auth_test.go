package gitrepo

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"strings"
	"testing"

	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
)

func sshKeyPEM(t *testing.T) []byte {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block)
}

// SSH never runs without host key checking, and checks against exactly
// the known hosts given.
func TestSSHAuth(t *testing.T) {
	key := sshKeyPEM(t)
	const url = "git@git.example.com:acme/manifests.git"
	if _, err := (Auth{}).method(url); err == nil || !strings.Contains(err.Error(), "private key") {
		t.Errorf("no key: %v", err)
	}
	if _, err := (Auth{SSHKey: key}).method(url); err == nil || !strings.Contains(err.Error(), "known hosts") {
		t.Errorf("no known hosts: %v", err)
	}
	if _, err := (Auth{SSHKey: []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nnope\n-----END OPENSSH PRIVATE KEY-----\n"), KnownHosts: []byte("x")}).method(url); err == nil || strings.Contains(err.Error(), "nope") {
		t.Errorf("bad key: %v (must not echo the key)", err)
	}

	hostPub, _, _ := ed25519.GenerateKey(rand.Reader)
	hostKey, _ := ssh.NewPublicKey(hostPub)
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	otherKey, _ := ssh.NewPublicKey(otherPub)
	known := []byte("git.example.com " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(hostKey))) + "\n")

	m, err := (Auth{SSHKey: key, KnownHosts: known}).method(url)
	if err != nil {
		t.Fatal(err)
	}
	pk, ok := m.(*gitssh.PublicKeys)
	if !ok || pk.User != "git" {
		t.Fatalf("auth = %T %+v", m, m)
	}
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}
	if err := pk.HostKeyCallback("git.example.com:22", addr, hostKey); err != nil {
		t.Errorf("known host rejected: %v", err)
	}
	if err := pk.HostKeyCallback("git.example.com:22", addr, otherKey); err == nil {
		t.Error("a changed host key was accepted")
	}
	if err := pk.HostKeyCallback("evil.example.com:22", addr, hostKey); err == nil {
		t.Error("an unknown host was accepted")
	}
}

func TestHTTPAuthUser(t *testing.T) {
	m, err := (Auth{Password: "s3cr3t-pw"}).method("https://github.com/acme/m.git")
	if err != nil || m == nil || !strings.Contains(m.String(), "x-access-token") {
		t.Fatalf("default user: %v %v", m, err)
	}
	if strings.Contains(m.String(), "s3cr3t-pw") {
		t.Errorf("auth String leaks the token: %s", m.String())
	}
	m, _ = (Auth{}).method("https://github.com/acme/m.git")
	if m != nil {
		t.Error("no token should mean anonymous")
	}
}
