package gitrepo_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bump-gitops/bump/internal/gitrepo"
	"github.com/bump-gitops/bump/internal/gitrepo/gittest"
)

func TestCloneBaseBranch(t *testing.T) {
	s := gittest.NewServer(t)
	url := s.CreateRepo(t, "m", files)
	main := s.Head("m", "main")
	trunk := s.Commit(t, "m", "main", map[string]string{"README.md": "trunk\n"}, "trunk")
	s.Branch(t, "m", "main", main) // main back where it was; trunk is ahead
	s.Branch(t, "m", "trunk", trunk)
	s.Branch(t, "m", "master", main)

	tests := []struct {
		name, head, branch string // head: the remote's default branch
		wantBranch, wantAt string
	}{
		{name: "remote default", head: "trunk", wantBranch: "trunk", wantAt: trunk},
		{name: "explicit base", head: "trunk", branch: "main", wantBranch: "main", wantAt: main},
		{name: "unborn default falls back to main", head: "gone", wantBranch: "main", wantAt: main},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.SetHead(t, "m", tt.head)
			r := clone(t, s, url, tt.branch)
			if r.BaseBranch() != tt.wantBranch || r.BaseCommit() != tt.wantAt {
				t.Errorf("base = %s@%s, want %s@%s", r.BaseBranch(), r.BaseCommit(), tt.wantBranch, tt.wantAt)
			}
		})
	}

	t.Run("unborn default falls back to master", func(t *testing.T) {
		s.SetHead(t, "m", "gone")
		gittest.Git(t, s.RepoDir("m"), "update-ref", "-d", "refs/heads/main")
		r := clone(t, s, url, "")
		if r.BaseBranch() != "master" || r.BaseCommit() != main {
			t.Errorf("base = %s@%s, want master@%s", r.BaseBranch(), r.BaseCommit(), main)
		}
	})
	t.Run("missing explicit base", func(t *testing.T) {
		_, err := gitrepo.Clone(context.Background(), gitrepo.CloneOptions{URL: url, Branch: "nope", Auth: gitrepo.Auth{Password: s.Password}})
		if err == nil || !strings.Contains(err.Error(), "branch nope does not exist") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestCloneIsShallowAndSingleBranch(t *testing.T) {
	ctx := context.Background()
	s := gittest.NewServer(t)
	url := s.CreateRepo(t, "m", files)
	first := s.Head("m", "main")
	s.Commit(t, "m", "main", map[string]string{"README.md": "2\n"}, "second")
	tip := s.Commit(t, "m", "main", map[string]string{"README.md": "3\n"}, "third")
	s.Branch(t, "m", "other", first)
	r := clone(t, s, url, "")
	parents, err := r.Parents(tip)
	if err != nil || len(parents) != 1 {
		t.Fatalf("parents of the tip: %v %v", parents, err)
	}
	// Depth 1: the parent is named but its objects were not fetched.
	if _, err := r.TreeFS(parents[0]); err == nil {
		t.Error("the clone holds the parent commit: not shallow")
	}
	if _, err := r.TreeFS(first); err == nil {
		t.Error("the clone holds another branch's commit: not single-branch")
	}
	// Fetching the other branch makes it readable.
	got, ok, err := r.FetchBranch(ctx, "other")
	if err != nil || !ok || got != first {
		t.Fatalf("fetch other = %s %v %v", got, ok, err)
	}
	if _, err := r.TreeFS(first); err != nil {
		t.Errorf("after fetch: %v", err)
	}
	if _, ok, err := r.FetchBranch(ctx, "absent"); ok || err != nil {
		t.Errorf("fetch of a missing branch: %v %v", ok, err)
	}
	if head, ok, err := r.RemoteHead(ctx, "main"); head != tip || !ok || err != nil {
		t.Errorf("remote head = %s %v %v", head, ok, err)
	}
}

func TestCloneErrors(t *testing.T) {
	ctx := context.Background()
	s := gittest.NewServer(t)
	url := s.CreateRepo(t, "m", files)
	auth := gitrepo.Auth{Password: s.Password}

	t.Run("unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens there now
		_, err = gitrepo.Clone(ctx, gitrepo.CloneOptions{URL: "http://" + addr + "/m.git", Auth: auth})
		if !errors.Is(err, gitrepo.ErrUnreachable) || strings.Contains(err.Error(), "\n") {
			t.Errorf("err = %v, want one line with ErrUnreachable", err)
		}
	})
	t.Run("server error is transient", func(t *testing.T) {
		s.SetFault(gittest.Times(1, gittest.Status(http.StatusServiceUnavailable)))
		t.Cleanup(func() { s.SetFault(nil) })
		_, err := gitrepo.Clone(ctx, gitrepo.CloneOptions{URL: url, Auth: auth})
		if !errors.Is(err, gitrepo.ErrTransient) {
			t.Fatalf("err = %v, want ErrTransient", err)
		}
		// The fault is spent: the same clone now works.
		if _, err := gitrepo.Clone(ctx, gitrepo.CloneOptions{URL: url, Auth: auth}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		s.SetFault(gittest.Slow(5 * time.Second))
		t.Cleanup(func() { s.SetFault(nil) })
		ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := gitrepo.Clone(ctx, gitrepo.CloneOptions{URL: url, Auth: auth})
		if err == nil || time.Since(start) > 3*time.Second {
			t.Errorf("clone under a 200ms deadline: %v after %v", err, time.Since(start))
		}
	})
	t.Run("auth failure names the repository once, without the token", func(t *testing.T) {
		const canary = "canary-0b1e6c7d"
		before := s.Requests()
		_, err := gitrepo.Clone(ctx, gitrepo.CloneOptions{URL: url, Auth: gitrepo.Auth{Password: canary}, Secrets: []string{canary}})
		if !errors.Is(err, gitrepo.ErrAuth) {
			t.Fatalf("err = %v", err)
		}
		msg := err.Error()
		if strings.Contains(msg, canary) || strings.Count(msg, url) != 1 || !strings.Contains(msg, "authentication failed") {
			t.Errorf("message = %q", msg)
		}
		// One refused request, not one per fallback branch.
		if n := s.Requests() - before; n != 1 {
			t.Errorf("%d requests for a refused clone, want 1", n)
		}
	})
}
