package giteatest

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServer starts Gitea and checks what the adapter tests rely on: the
// admin token works on the API, a repository can be created, and git over
// HTTP with the token clones and pushes it. .ci/gitea.sh runs it to build
// and check the cached binary.
func TestServer(t *testing.T) {
	s := Start(t)
	var v struct{ Version string }
	s.MustAPI(t, http.MethodGet, "/version", nil, &v)
	if !strings.HasPrefix("v"+v.Version, Version) {
		t.Errorf("server version %q, want %s", v.Version, Version)
	}
	var me struct {
		Login   string
		IsAdmin bool `json:"is_admin"`
	}
	s.MustAPI(t, http.MethodGet, "/user", nil, &me)
	if me.Login != s.User || !me.IsAdmin {
		t.Errorf("token belongs to %+v, want admin %s", me, s.User)
	}
	gitURL := s.CreateRepo(t, "smoke")
	dir := filepath.Join(t.TempDir(), "smoke")
	Git(t, "", "clone", "-q", gitURL, dir)
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	Git(t, dir, "add", "f.txt")
	Git(t, dir, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "f")
	Git(t, dir, "push", "-q", "origin", "HEAD:refs/heads/feature")
	if code := s.API(t, http.MethodGet, "/repos/"+s.User+"/smoke/branches/feature", nil, nil); code != http.StatusOK {
		t.Errorf("pushed branch: status %d", code)
	}
	// Gitea takes the token as the password whatever the username, so
	// bump's git username for GitHub works here too.
	u, _ := url.Parse(gitURL)
	u.User = url.UserPassword("x-access-token", s.Token)
	if out := Git(t, "", "ls-remote", u.String(), "refs/heads/feature"); !strings.Contains(out, "refs/heads/feature") {
		t.Errorf("ls-remote as x-access-token: %q", out)
	}
	if code := s.API(t, http.MethodGet, "/repos/"+s.User+"/nope", nil, nil); code != http.StatusNotFound {
		t.Errorf("missing repository: status %d, want 404", code)
	}
}
