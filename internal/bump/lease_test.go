package bump

import (
	"context"
	"strings"
	"testing"

	"github.com/bump-gitops/bump/internal/forge"
	"github.com/bump-gitops/bump/internal/forge/forgetest"
	"github.com/bump-gitops/bump/internal/forge/github"
)

// apiCommitter adapts the GitHub client as the command line does; before
// its first commit, someone else may push onto the branch.
type apiCommitter struct {
	gh     *github.Client
	before func()
}

func (a *apiCommitter) CommitOnBranch(ctx context.Context, c APICommit) (string, error) {
	if hook := a.before; hook != nil {
		a.before = nil
		hook()
	}
	return a.gh.CommitOnBranch(ctx, github.CommitRequest{Branch: c.Branch, BaseSHA: c.BaseSHA, ExpectedHead: c.ExpectedHead, Files: c.Files, Headline: c.Headline, Body: c.Body})
}

// --commit-via-api holds a lease like the git push: a commit pushed onto
// the head branch between bump's look and its API commit is not reset
// away; the retry sees a commit that is not bump's and leaves the branch.
func TestCommitViaAPIHoldsLease(t *testing.T) {
	ctx := context.Background()
	s, opts := raceSetup(t)
	fake := forgetest.NewGitHub(t, forgetest.GitHubOptions{Git: &forgetest.BareRepo{Dir: s.RepoDir("m")}, Owner: "acme", Repo: "m"})
	gh, err := github.New(github.Options{BaseURL: fake.URL(), Token: "test-token", Repo: forge.Repo{Host: "github.com", Path: "acme/m"}})
	if err != nil {
		t.Fatal(err)
	}
	committer := &apiCommitter{gh: gh}
	opts.Mode, opts.Committer = Push, committer
	opts.Source = Fixed(mustRefs(t, "ghcr.io/acme/api:v1.2.3"))
	if _, err := Run(ctx, opts); err != nil {
		t.Fatal(err)
	}
	var theirs string
	committer.before = func() {
		theirs = s.Commit(t, "m", "bump/api", map[string]string{"NOTES.md": "review\n"}, "review fix")
	}
	opts.Source = Fixed(mustRefs(t, "ghcr.io/acme/api:v1.2.4"))
	_, err = Run(ctx, opts)
	if err == nil || !strings.Contains(err.Error(), `"review fix" that bump did not make`) {
		t.Fatalf("run raced by a push: %v, want the foreign commit named", err)
	}
	if head := s.Head("m", "bump/api"); head != theirs {
		t.Fatalf("bump/api at %s, want their commit %s", head, theirs)
	}
}
