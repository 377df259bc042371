package gitrepo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bump-gitops/bump/internal/gitrepo"
	"github.com/bump-gitops/bump/internal/gitrepo/gittest"
)

// checkout makes a person's clone of the server's repository "m", with
// origin pointing at the server.
func checkout(t *testing.T, s *gittest.Server) string {
	t.Helper()
	work := t.TempDir()
	gittest.Git(t, "", "clone", "-q", s.RepoDir("m"), work)
	gittest.Git(t, work, "remote", "set-url", "origin", s.RepoURL("m"))
	return work
}

func TestLocalCommitOnCurrentBranch(t *testing.T) {
	ctx := context.Background()
	s := gittest.NewServer(t)
	s.CreateRepo(t, "m", files)
	work := checkout(t, s)
	r, err := gitrepo.Open(ctx, filepath.Join(work, "apps"), gitrepo.Auth{Password: s.Password})
	if err != nil {
		t.Fatal(err)
	}
	if u, err := gitrepo.OriginURL(work); err != nil || u != s.RepoURL("m") {
		t.Errorf("origin = %q %v", u, err)
	}
	if r.BaseBranch() != "main" || r.BaseCommit() != gittest.Git(t, work, "rev-parse", "HEAD") {
		t.Fatalf("base = %s@%s", r.BaseBranch(), r.BaseCommit())
	}
	base := r.BaseCommit()
	commit, err := r.Commit(ctx, gitrepo.CommitRequest{Parent: base, Files: map[string][]byte{"apps/api/deploy.yaml": []byte("image: ghcr.io/acme/api:v2\n")}, Message: "api v2", Author: me})
	if err != nil {
		t.Fatal(err)
	}
	// An untracked file of the person's survives.
	if err := os.WriteFile(filepath.Join(work, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.SetBranch(gitrepo.BranchUpdate{Branch: "main", Commit: commit, Expected: base, Who: me, Reason: "commit: api v2"}); err != nil {
		t.Fatal(err)
	}
	if head := gittest.Git(t, work, "rev-parse", "HEAD"); head != commit {
		t.Fatalf("HEAD = %s, want %s", head, commit)
	}
	// The work tree and the index show the commit, not its undoing.
	if st := gittest.Git(t, work, "status", "--porcelain"); st != "?? notes.txt" {
		t.Errorf("status after the commit:\n%s", st)
	}
	if got, _ := os.ReadFile(filepath.Join(work, "apps/api/deploy.yaml")); string(got) != "image: ghcr.io/acme/api:v2\n" {
		t.Errorf("work tree file = %q", got)
	}
	if r.BaseCommit() != commit {
		t.Errorf("base commit not moved")
	}
	// Pushing from the checkout uses the same lease.
	if err := r.Push(ctx, commit, "main", s.Head("m", "main")); err != nil {
		t.Fatal(err)
	}
	if s.Head("m", "main") != commit {
		t.Fatal("push from the checkout did not land")
	}
	stale, err := r.Commit(ctx, gitrepo.CommitRequest{Parent: commit, Files: map[string][]byte{"README.md": []byte("x\n")}, Message: "x", Author: me})
	if err != nil {
		t.Fatal(err)
	}
	theirs := s.Commit(t, "m", "main", map[string]string{"README.md": "theirs\n"}, "theirs")
	if err := r.Push(ctx, stale, "main", commit); !errors.Is(err, gitrepo.ErrRejected) {
		t.Fatalf("push over a moved branch: %v, want ErrRejected", err)
	}
	if s.Head("m", "main") != theirs {
		t.Fatal("their commit was overwritten")
	}
}

func TestLocalCommitOtherBranchAndDirtyTree(t *testing.T) {
	ctx := context.Background()
	s := gittest.NewServer(t)
	s.CreateRepo(t, "m", files)
	work := checkout(t, s)
	r, err := gitrepo.Open(ctx, work, gitrepo.Auth{})
	if err != nil {
		t.Fatal(err)
	}
	base := r.BaseCommit()
	commit, err := r.Commit(ctx, gitrepo.CommitRequest{Parent: base, Files: map[string][]byte{"README.md": []byte("bumped\n")}, Message: "bump", Author: me})
	if err != nil {
		t.Fatal(err)
	}
	// Another branch: the checkout stays as it is.
	if err := r.SetBranch(gitrepo.BranchUpdate{Branch: "bump/readme", Commit: commit, Who: me, Reason: "commit: bump"}); err != nil {
		t.Fatal(err)
	}
	// Pushing a new branch from a checkout: "must not exist" is a lease.
	r2, err := gitrepo.Open(ctx, work, gitrepo.Auth{Password: s.Password})
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.Push(ctx, commit, "bump/readme", ""); err != nil {
		t.Fatal(err)
	}
	if err := r2.Push(ctx, base, "bump/readme", ""); !errors.Is(err, gitrepo.ErrRejected) {
		t.Fatalf("second push of a new branch: %v, want ErrRejected", err)
	}
	if s.Head("m", "bump/readme") != commit {
		t.Fatal("the refused push moved the branch")
	}
	if got := gittest.Git(t, work, "rev-parse", "bump/readme", "HEAD"); got != commit+"\n"+base {
		t.Errorf("bump/readme and HEAD = %q", got)
	}
	// The current branch with a modified tracked file: refused, untouched.
	if err := os.WriteFile(filepath.Join(work, "README.md"), []byte("my edit\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = r.SetBranch(gitrepo.BranchUpdate{Branch: "main", Commit: commit, Expected: base, Who: me, Reason: "commit: bump"})
	if err == nil || !strings.Contains(err.Error(), "uncommitted changes (README.md)") {
		t.Fatalf("dirty checkout: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(work, "README.md")); string(got) != "my edit\n" {
		t.Errorf("the person's edit was overwritten: %q", got)
	}
	if head := gittest.Git(t, work, "rev-parse", "HEAD"); head != base {
		t.Error("HEAD moved despite the refusal")
	}
	if _, err := gitrepo.Open(ctx, t.TempDir(), gitrepo.Auth{}); err == nil {
		t.Error("opened a directory that is no checkout")
	}
}
