package gitrepo_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bump-gitops/bump/internal/gitrepo"
	"github.com/bump-gitops/bump/internal/gitrepo/gittest"
)

func owned(msg string) bool { return strings.Contains(msg, "Bumped-by: bump") }

// The ownership walk places the head branch's commits against the base,
// deepening the shallow clone as far as it must: a bump branch whose base
// moved on 20 commits is bump's; a bump commit cherry-picked onto a branch
// of someone else's is not enough to make that branch bump's.
func TestForeignCommit(t *testing.T) {
	ctx := context.Background()
	s := gittest.NewServer(t)
	url := s.CreateRepo(t, "m", files)
	s.Branch(t, "m", "bump/api", s.Head("m", "main"))
	s.Commit(t, "m", "bump/api", map[string]string{"apps/api/deploy.yaml": "image: ghcr.io/acme/api:v2\n"}, "bump api\n\nBumped-by: bump")
	s.Branch(t, "m", "release", s.Head("m", "main"))
	rel := s.Commit(t, "m", "release", map[string]string{"README.md": "# release\n"}, "release notes")
	s.Commit(t, "m", "release", map[string]string{"apps/api/deploy.yaml": "image: ghcr.io/acme/api:v2\n"}, "bump api\n\nBumped-by: bump")
	for i := range 20 {
		s.Commit(t, "m", "main", map[string]string{"README.md": fmt.Sprintf("# %d\n", i)}, fmt.Sprintf("main %d", i))
	}
	s.Branch(t, "m", "behind", s.Head("m", "main")+"~3")

	r := clone(t, s, url, "")
	for _, tc := range []struct {
		branch, foreign string
	}{
		{"bump/api", ""},
		{"release", rel},
		{"behind", ""}, // no commits of its own: nothing to lose
	} {
		head, ok, err := r.FetchBranch(ctx, tc.branch)
		if err != nil || !ok {
			t.Fatalf("fetch %s: %v", tc.branch, err)
		}
		f, err := r.ForeignCommit(ctx, tc.branch, head, owned)
		if err != nil {
			t.Fatalf("%s: %v", tc.branch, err)
		}
		switch {
		case tc.foreign == "" && f != nil:
			t.Errorf("%s: foreign commit %s, want none", tc.branch, f)
		case tc.foreign != "" && (f == nil || f.Hash != tc.foreign || f.Subject != "release notes"):
			t.Errorf("%s: foreign commit %v, want %s", tc.branch, f, tc.foreign[:12])
		}
	}
	if r.BaseCommit() != s.Head("m", "main") {
		t.Error("deepening moved the base commit")
	}

}

// A branch set in a checkout carries a lease (the branch must be where bump
// saw it) and leaves a reflog entry, as git's own commands do.
func TestSetBranchLeaseAndReflog(t *testing.T) {
	ctx := context.Background()
	s := gittest.NewServer(t)
	s.CreateRepo(t, "m", files)
	work := checkout(t, s)
	r, err := gitrepo.Open(ctx, work, gitrepo.Auth{})
	if err != nil {
		t.Fatal(err)
	}
	base := r.BaseCommit()
	commit, err := r.Commit(ctx, gitrepo.CommitRequest{Parent: base, Files: map[string][]byte{"README.md": []byte("bumped\n")}, Message: "bump readme", Author: me})
	if err != nil {
		t.Fatal(err)
	}
	gittest.Git(t, work, "branch", "bump/readme", base)
	// Expected "no branch", but the branch exists: refused.
	err = r.SetBranch(gitrepo.BranchUpdate{Branch: "bump/readme", Commit: commit, Who: me, Reason: "bump: bump readme"})
	if !errors.Is(err, gitrepo.ErrRejected) {
		t.Fatalf("lease on an existing branch: %v, want ErrRejected", err)
	}
	if got := gittest.Git(t, work, "rev-parse", "bump/readme"); got != base {
		t.Fatal("the refused update moved the branch")
	}
	if err := r.SetBranch(gitrepo.BranchUpdate{Branch: "bump/readme", Commit: commit, Expected: base, Who: me, Reason: "bump: bump readme"}); err != nil {
		t.Fatal(err)
	}
	log := gittest.Git(t, work, "reflog", "show", "--format=%H %gn <%ge> %gs", "bump/readme")
	if first, _, _ := strings.Cut(log, "\n"); first != commit+" Bump Bot <bot@example.com> bump: bump readme" {
		t.Errorf("reflog:\n%s", log)
	}
}
