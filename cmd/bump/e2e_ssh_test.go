package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/bump-gitops/bump/internal/gitrepo/gittest"
)

// sshKeyFile writes a new private key and returns its path and public key.
func sshKeyFile(t *testing.T) (string, ssh.PublicKey) {
	t.Helper()
	key, pub := gittest.NewSSHKey(t)
	path := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(path, key, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, pub
}

// The SSH test stays in Go: it runs an SSH server with generated host and
// client keys and checks its logins.

// Over SSH, as with a deploy key: clone, commit and push through a real
// SSH server running the system git, with the host key checked against
// the known hosts given. A changed host key or an unknown client key is
// one clear line and nothing pushed.
func TestSSHPush(t *testing.T) {
	e := newEnv(t)
	keyFile, pub := sshKeyFile(t)
	srv := e.git.ServeSSH(t, pub)
	hostsFile := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(hostsFile, []byte(srv.KnownHosts+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	url := srv.RepoURL("git", e.name)

	t.Run("a changed host key is refused", func(t *testing.T) {
		_, other := sshKeyFile(t)
		wrong := filepath.Join(t.TempDir(), "known_hosts")
		line := knownhosts.Line([]string{knownhosts.Normalize(srv.Addr)}, other)
		if err := os.WriteFile(wrong, []byte(line+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := e.run(nil, "--repo", url, "--ssh-key", keyFile, "--ssh-known-hosts", wrong, "--no-pr", "--image", "ghcr.io/acme/api:v1.2.3")
		t.Log(r.stderr)
		if r.code != 1 || !strings.Contains(r.stderr, "does not match the known hosts") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
		if srv.Logins("git") != 0 {
			t.Error("bump logged in to a host whose key does not match")
		}
	})
	t.Run("an unknown client key is refused", func(t *testing.T) {
		stranger, _ := sshKeyFile(t)
		r := e.run(nil, "--repo", url, "--ssh-key", stranger, "--ssh-known-hosts", hostsFile, "--no-pr", "--image", "ghcr.io/acme/api:v1.2.3")
		t.Log(r.stderr)
		if r.code != 1 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, "authentication failed") || !strings.Contains(r.stderr, "SSH key was refused") {
			t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
	})
	if h := e.git.Head(e.name, "bump/api"); h != "" {
		t.Fatalf("a refused run pushed bump/api at %s", h)
	}

	r := e.ok(e.run(nil, "--repo", url, "--ssh-key", keyFile, "--ssh-known-hosts", hostsFile, "--no-pr", "--image", "ghcr.io/acme/api:v1.2.3"))
	if !strings.Contains(r.stdout, "pushed ") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if srv.Logins("git") == 0 {
		t.Error("no SSH login seen")
	}
	if got := e.git.File(t, e.name, "bump/api", "apps/api/deployment.yaml"); !strings.Contains(got, "image: ghcr.io/acme/api:v1.2.3 #") {
		t.Errorf("bump/api holds:\n%s", got)
	}
	if n := e.gitOut("rev-list", "--count", "main..bump/api"); n != "1" {
		t.Errorf("%s commits on bump/api", n)
	}
	// The key's bytes appear nowhere it could leak.
	key, _ := os.ReadFile(keyFile)
	body := strings.Split(strings.TrimSpace(string(key)), "\n")[1]
	if strings.Contains(r.stdout+r.stderr, body) || strings.Contains(e.gitOut("log", "--all", "-p"), body) {
		t.Error("the private key leaked")
	}
}
