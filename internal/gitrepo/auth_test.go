package gitrepo

import (
	"net"
	"strings"
	"testing"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/bump-gitops/bump/internal/gitrepo/gittest"
)

func TestSSHAuth(t *testing.T) {
	key, _ := gittest.NewSSHKey(t)
	_, hostKey := gittest.NewSSHKey(t)
	_, otherKey := gittest.NewSSHKey(t)
	known := []byte(knownhosts.Line([]string{"git.example.com"}, hostKey) + "\n")
	const url = "git@git.example.com:org/repo.git"

	t.Run("known hosts are required", func(t *testing.T) {
		_, err := Auth{SSHKey: key}.method(url)
		if err == nil || !strings.Contains(err.Error(), "known hosts") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a key is required", func(t *testing.T) {
		if _, err := (Auth{KnownHosts: known}).method(url); err == nil || !strings.Contains(err.Error(), "private key") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("an unparsable key is refused without echoing it", func(t *testing.T) {
		_, err := Auth{SSHKey: []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END OPENSSH PRIVATE KEY-----\n"), KnownHosts: known}.method(url)
		if err == nil || strings.Contains(err.Error(), "c2VjcmV0") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("host keys are checked", func(t *testing.T) {
		m, err := Auth{SSHKey: key, KnownHosts: known}.method(url)
		if err != nil {
			t.Fatal(err)
		}
		keys, ok := m.(*gitssh.PublicKeys)
		if !ok {
			t.Fatalf("auth is %T", m)
		}
		if keys.User != "git" {
			t.Errorf("user = %q", keys.User)
		}
		addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}
		if err := keys.HostKeyCallback("git.example.com:22", addr, hostKey); err != nil {
			t.Errorf("the known key is refused: %v", err)
		}
		if err := keys.HostKeyCallback("git.example.com:22", addr, otherKey); err == nil {
			t.Error("a changed host key is accepted")
		}
		if err := keys.HostKeyCallback("evil.example.com:22", addr, hostKey); err == nil {
			t.Error("an unknown host is accepted")
		}
	})
	t.Run("ssh scheme URL keeps its user", func(t *testing.T) {
		m, err := Auth{SSHKey: key, KnownHosts: known}.method("ssh://deploy@git.example.com:2222/org/repo.git")
		if err != nil {
			t.Fatal(err)
		}
		if u := m.(*gitssh.PublicKeys).User; u != "deploy" {
			t.Errorf("user = %q", u)
		}
	})
	t.Run("garbage known hosts", func(t *testing.T) {
		if _, err := (Auth{SSHKey: key, KnownHosts: []byte("git.example.com ssh-ed25519 !!!\n")}).method(url); err == nil {
			t.Error("accepted")
		}
	})
}

func TestHTTPAuth(t *testing.T) {
	m, err := Auth{Password: "tok"}.method("https://github.com/org/repo.git")
	if err != nil {
		t.Fatal(err)
	}
	if b := m.(*githttp.BasicAuth); b.Username != "x-access-token" || b.Password != "tok" {
		t.Errorf("auth = %+v", b)
	}
	// go-git may log or print the auth method: its text must not carry the token.
	if m, _ := (Auth{Password: "s3cr3t-pw"}).method("https://github.com/org/repo.git"); strings.Contains(m.String(), "s3cr3t-pw") {
		t.Errorf("auth String leaks the token: %s", m.String())
	}
	m, _ = Auth{Username: "oauth2", Password: "tok"}.method("https://gitlab.com/org/repo.git")
	if b := m.(*githttp.BasicAuth); b.Username != "oauth2" {
		t.Errorf("user = %q", b.Username)
	}
	if m, err := (Auth{}).method("https://github.com/org/repo.git"); m != nil || err != nil {
		t.Errorf("no token: %v %v", m, err)
	}
	if m, err := (Auth{Password: "tok"}).method("file:///srv/repo.git"); m != nil || err != nil {
		t.Errorf("file URL: %v %v", m, err)
	}
}
