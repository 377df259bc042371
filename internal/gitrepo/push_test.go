package gitrepo_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bump-gitops/bump/internal/gitrepo"
	"github.com/bump-gitops/bump/internal/gitrepo/gittest"
)

// The lease is checked by the server, not only by bump: another push that
// lands between bump's ref advertisement and its pack is refused there.
func TestPushLeaseHeldByServer(t *testing.T) {
	ctx := context.Background()
	var s *gittest.Server
	var raced atomic.Int64
	var theirs string
	s = gittest.NewServer(t, gittest.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Just before bump's pack arrives, someone else moves the branch.
			if gittest.IsPush(r) && raced.Add(1) == 1 {
				theirs = s.Commit(t, "m", "bump/api", map[string]string{"README.md": "theirs\n"}, "theirs")
			}
			next.ServeHTTP(w, r)
		})
	}))
	url := s.CreateRepo(t, "m", files)
	s.Branch(t, "m", "bump/api", s.Head("m", "main"))
	r := clone(t, s, url, "")
	lease := s.Head("m", "bump/api")
	commit, err := r.Commit(ctx, gitrepo.CommitRequest{Parent: r.BaseCommit(), Files: map[string][]byte{"README.md": []byte("ours\n")}, Message: "ours", Author: me})
	if err != nil {
		t.Fatal(err)
	}
	err = r.Push(ctx, commit, "bump/api", lease)
	if !errors.Is(err, gitrepo.ErrRejected) {
		t.Fatalf("push raced by another: %v, want ErrRejected", err)
	}
	if raced.Load() != 1 || s.Head("m", "bump/api") != theirs {
		t.Fatalf("the server let the raced push through: branch at %s, theirs %s", s.Head("m", "bump/api"), theirs)
	}
	// With the new tip as the lease, the rebuilt branch lands.
	if err := r.Push(ctx, commit, "bump/api", theirs); err != nil {
		t.Fatal(err)
	}
	if s.Head("m", "bump/api") != commit {
		t.Fatal("push with the fresh lease did not land")
	}
}

// A depth-1 clone of a long history pushes a commit the server accepts
// and can check, and the pack carries only the new objects.
func TestPushFromShallowClone(t *testing.T) {
	ctx := context.Background()
	s := gittest.NewServer(t)
	url := s.CreateRepo(t, "m", files)
	for i, c := range []string{"2", "3", "4"} {
		s.Commit(t, "m", "main", map[string]string{"apps/web/deploy.yaml": "image: ghcr.io/acme/web:v" + c + "\n"}, "web "+c+string(rune('a'+i)))
	}
	r := clone(t, s, url, "")
	var pushed atomic.Int64
	s.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if gittest.IsPush(r) {
			pushed.Add(r.ContentLength)
		}
		return false
	})
	first, err := r.Commit(ctx, gitrepo.CommitRequest{Parent: r.BaseCommit(), Files: map[string][]byte{"apps/api/deploy.yaml": []byte("image: ghcr.io/acme/api:v2\n")}, Message: "api v2", Author: me})
	if err != nil {
		t.Fatal(err)
	}
	// A second commit on top of the first: pushing it alone must carry both.
	second, err := r.Commit(ctx, gitrepo.CommitRequest{Parent: first, Files: map[string][]byte{"apps/api/deploy.yaml": []byte("image: ghcr.io/acme/api:v3\n"), "README.md": []byte("v3\n")}, Message: "api v3", Author: me})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Push(ctx, second, "main", r.BaseCommit()); err != nil {
		t.Fatal(err)
	}
	if s.Head("m", "main") != second || s.CommitCount(t, "m", "main") != 6 {
		t.Fatalf("main = %s with %d commits", s.Head("m", "main"), s.CommitCount(t, "m", "main"))
	}
	if out, err := gittest.RunGit(s.RepoDir("m"), nil, "fsck", "--strict", "--no-dangling"); err != nil {
		t.Fatalf("fsck after a push from a shallow clone: %v %s", err, out)
	}
	if got := s.Changed(t, "m", "main~1", "main"); !slices.Equal(got, []string{"README.md", "apps/api/deploy.yaml"}) {
		t.Errorf("second commit changed %q", got)
	}
	// Two commits of three small objects each and their trees: far below
	// what resending the tree's blobs would take.
	if n := pushed.Load(); n <= 0 || n > 4096 {
		t.Errorf("pushed %d bytes", n)
	}
}

func TestPushKeepsModesAndTouchesOnlyChangedFiles(t *testing.T) {
	ctx := context.Background()
	s := gittest.NewServer(t)
	url := s.CreateRepo(t, "m", files)
	work := t.TempDir()
	gittest.Git(t, "", "clone", "-q", s.RepoDir("m"), work)
	gittest.Git(t, work, "update-index", "--chmod=+x", "README.md")
	gittest.Git(t, work, "commit", "-q", "-m", "exec")
	gittest.Git(t, work, "push", "-q", "origin", "main")

	r := clone(t, s, url, "")
	commit, err := r.Commit(ctx, gitrepo.CommitRequest{
		Parent: r.BaseCommit(),
		Files: map[string][]byte{
			"README.md":            []byte("#!/bin/sh\n"),
			"apps/web/deploy.yaml": []byte("image: ghcr.io/acme/web:v2\n"),
		},
		Message: "two files\n\nbody line\n",
		Author:  me,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Push(ctx, commit, "bump/x", ""); err != nil {
		t.Fatal(err)
	}
	if got := s.Changed(t, "m", "main", "bump/x"); !slices.Equal(got, []string{"README.md", "apps/web/deploy.yaml"}) {
		t.Errorf("changed = %q", got)
	}
	if mode := gittest.Git(t, s.RepoDir("m"), "ls-tree", "bump/x", "README.md"); mode[:6] != "100755" {
		t.Errorf("README.md lost its mode: %s", mode)
	}
	if got := s.Message(t, "m", "bump/x"); got != "two files\n\nbody line" {
		t.Errorf("message = %q", got)
	}
	if a, c := s.Author(t, "m", "bump/x"); a != "Bump Bot <bot@example.com>" || c != a {
		t.Errorf("author %q committer %q", a, c)
	}
	// Paths outside the tree are refused, not invented.
	for _, p := range []string{"new.yaml", "apps/new/x.yaml", "../x", "apps", "/abs", ".git/config"} {
		if _, err := r.Commit(ctx, gitrepo.CommitRequest{Parent: r.BaseCommit(), Files: map[string][]byte{p: []byte("x")}, Message: "x", Author: me}); err == nil {
			t.Errorf("commit of %q accepted", p)
		}
	}
}

func TestPushFailures(t *testing.T) {
	ctx := context.Background()
	s := gittest.NewServer(t)
	url := s.CreateRepo(t, "m", files)
	r := clone(t, s, url, "")
	commit, err := r.Commit(ctx, gitrepo.CommitRequest{Parent: r.BaseCommit(), Files: map[string][]byte{"README.md": []byte("x\n")}, Message: "x", Author: me})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		fault gittest.Fault
		want  error
	}{
		{"connection dropped mid-push", gittest.When(gittest.IsPush, gittest.Drop()), gitrepo.ErrTransient},
		{"bad gateway on push", gittest.When(gittest.IsPush, gittest.Status(http.StatusBadGateway)), gitrepo.ErrTransient},
		{"forbidden", gittest.Status(http.StatusForbidden), gitrepo.ErrAuth},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s.SetFault(tt.fault)
			defer s.SetFault(nil)
			if err := r.Push(ctx, commit, "bump/x", ""); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if s.Head("m", "bump/x") != "" {
				t.Fatal("the failed push created the branch")
			}
		})
	}
	// The failures left nothing behind: the same push now lands.
	if err := r.Push(ctx, commit, "bump/x", ""); err != nil {
		t.Fatal(err)
	}
}

// A server that refuses a push says why on the side band ("remote: …"),
// as Gitea and GitLab do for a protected branch; the error carries the
// server's last line instead of only "pre-receive hook declined".
func TestPushRejectionSaysWhy(t *testing.T) {
	ctx := context.Background()
	s := gittest.NewServer(t)
	url := s.CreateRepo(t, "m", files)
	hook := filepath.Join(s.RepoDir("m"), "hooks", "pre-receive")
	script := "#!/bin/sh\necho 'checking refs' >&2\necho 'error: branch main is protected from force push' >&2\necho 'error:' >&2\nexit 1\n"
	if err := os.WriteFile(hook, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	r := clone(t, s, url, "")
	commit, err := r.Commit(ctx, gitrepo.CommitRequest{Parent: r.BaseCommit(), Files: map[string][]byte{"README.md": []byte("ours\n")}, Message: "ours", Author: me})
	if err != nil {
		t.Fatal(err)
	}
	err = r.Push(ctx, commit, "main", r.BaseCommit())
	if err == nil {
		t.Fatal("push through a refusing hook succeeded")
	}
	if !strings.Contains(err.Error(), "branch main is protected") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %q: want the server's reason on one line", err)
	}
}
