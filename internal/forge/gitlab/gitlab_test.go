package gitlab

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bump-gitops/bump/internal/forge"
	"github.com/bump-gitops/bump/internal/forge/forgetest"
)

const token = "glpat-canary-0b7e"

// fastRetry keeps the retry transport's waits short in tests.
var fastRetry = forge.RetryOptions{BaseDelay: time.Millisecond, MaxWait: 50 * time.Millisecond, MaxTotal: time.Second}

func setup(t *testing.T, opts forgetest.GitLabOptions) (*forgetest.GitLab, *Client) {
	t.Helper()
	if opts.Token == "" {
		opts.Token = token
	}
	if opts.Project == "" {
		opts.Project = "acme/platform/manifests"
	}
	fake := forgetest.NewGitLab(t, opts)
	c, err := New(Options{BaseURL: fake.URL(), Token: token, Repo: forge.Repo{Host: "gitlab.example.com", Path: opts.Project}, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	return fake, c
}

var _ interface {
	FindPullRequest(context.Context, string, string) (*forge.PullRequest, error)
	CreatePullRequest(context.Context, forge.PullRequestSpec) (*forge.PullRequest, error)
	UpdatePullRequest(context.Context, *forge.PullRequest, forge.PullRequestSpec) (*forge.PullRequest, error)
	ListPullRequests(context.Context, string) ([]forge.PullRequest, error)
	ClosePullRequest(context.Context, *forge.PullRequest, string) error
} = (*Client)(nil)

func TestCreateFindUpdateClose(t *testing.T) {
	ctx := context.Background()
	fake, c := setup(t, forgetest.GitLabOptions{Users: map[string]int64{"alice": 7, "bob": 8}})

	pr, err := c.FindPullRequest(ctx, "bump/api", "main")
	if err != nil || pr != nil {
		t.Fatalf("find before create: %v %v", pr, err)
	}
	spec := forge.PullRequestSpec{Base: "main", Head: "bump/api", Title: "bump api", Body: "table",
		Labels: []string{"deploy", "automated"}, Reviewers: []string{"alice"}, Assignees: []string{"@bob"},
		Draft: true, AutoMerge: true, RemoveSourceBranch: true, Squash: true}
	pr, err = c.CreatePullRequest(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if pr.Number != 1 || !strings.HasSuffix(pr.URL, "/acme/platform/manifests/-/merge_requests/1") || pr.Head != "bump/api" {
		t.Errorf("created %+v", pr)
	}
	mr := fake.MergeRequests()[0]
	if mr.Title != "Draft: bump api" || !mr.Draft() || strings.Join(mr.Labels, ",") != "deploy,automated" ||
		len(mr.ReviewerIDs) != 1 || mr.ReviewerIDs[0] != 7 || len(mr.AssigneeIDs) != 1 || mr.AssigneeIDs[0] != 8 ||
		!mr.RemoveSourceBranch || !mr.Squash || !mr.AutoMerge {
		t.Errorf("merge request on the forge: %+v", mr)
	}

	found, err := c.FindPullRequest(ctx, "bump/api", "main")
	if err != nil || found == nil || found.Number != 1 {
		t.Fatalf("find: %+v %v", found, err)
	}
	_, err = c.UpdatePullRequest(ctx, found, forge.PullRequestSpec{Base: "main", Head: "bump/api", Title: "bump api v2", Body: "new table"})
	if err != nil {
		t.Fatal(err)
	}
	mr = fake.MergeRequests()[0]
	if mr.Title != "bump api v2" || mr.Description != "new table" || strings.Join(mr.Labels, ",") != "deploy,automated" {
		t.Errorf("updated: %+v", mr)
	}

	list, err := c.ListPullRequests(ctx, "main")
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	if err := c.ClosePullRequest(ctx, &list[0], "Superseded by !2."); err != nil {
		t.Fatal(err)
	}
	mr = fake.MergeRequests()[0]
	if mr.State != "closed" || len(mr.Notes) != 1 || mr.Notes[0] != "Superseded by !2." {
		t.Errorf("closed: %+v", mr)
	}
}

func TestCallBudget(t *testing.T) {
	ctx := context.Background()
	fake, c := setup(t, forgetest.GitLabOptions{})
	spec := forge.PullRequestSpec{Base: "main", Head: "bump/api", Title: "t", Body: "b", Labels: []string{"deploy"}}
	if _, err := c.FindPullRequest(ctx, spec.Head, spec.Base); err != nil {
		t.Fatal(err)
	}
	pr, err := c.CreatePullRequest(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if n := fake.TotalCalls(); n != 2 {
		t.Errorf("find + create (with labels) = %d calls, want 2: %v", n, fake.Calls())
	}
	fake.ResetCalls()
	if _, err := c.FindPullRequest(ctx, spec.Head, spec.Base); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdatePullRequest(ctx, pr, spec); err != nil {
		t.Fatal(err)
	}
	if n := fake.TotalCalls(); n != 2 {
		t.Errorf("find + update = %d calls, want 2: %v", n, fake.Calls())
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	spec := forge.PullRequestSpec{Base: "main", Head: "bump/api", Title: "t", Body: "b"}
	check := func(t *testing.T, err error, sentinel error, want string) {
		t.Helper()
		if !errors.Is(err, sentinel) {
			t.Errorf("err = %v, want %v", err, sentinel)
		}
		if err != nil && (!strings.Contains(err.Error(), want) || strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "\n")) {
			t.Errorf("err = %q, want one line with %q and no token", err, want)
		}
	}
	t.Run("bad token", func(t *testing.T) {
		fake := forgetest.NewGitLab(t, forgetest.GitLabOptions{Token: "other"})
		c, _ := New(Options{BaseURL: fake.URL(), Token: token, Repo: forge.Repo{Path: "acme/manifests"}, Retry: fastRetry})
		_, err := c.FindPullRequest(ctx, "x", "main")
		check(t, err, forge.ErrUnauthorized, "bad or expired token")
	})
	t.Run("missing project", func(t *testing.T) {
		fake := forgetest.NewGitLab(t, forgetest.GitLabOptions{Token: token})
		c, _ := New(Options{BaseURL: fake.URL(), Token: token, Repo: forge.Repo{Path: "acme/nope"}, Retry: fastRetry})
		_, err := c.FindPullRequest(ctx, "x", "main")
		check(t, err, forge.ErrNotFound, "acme/nope not found")
	})
	t.Run("duplicate", func(t *testing.T) {
		fake, c := setup(t, forgetest.GitLabOptions{})
		fake.AddMergeRequest("bump/api", "main", "old", "")
		_, err := c.CreatePullRequest(ctx, spec)
		check(t, err, forge.ErrExists, "Another open merge request already exists")
	})
	t.Run("missing branch", func(t *testing.T) {
		_, c := setup(t, forgetest.GitLabOptions{BranchExists: func(string) bool { return false }})
		_, err := c.CreatePullRequest(ctx, spec)
		check(t, err, forge.ErrValidation, "Source branch does not exist")
	})
	t.Run("unknown reviewer", func(t *testing.T) {
		_, c := setup(t, forgetest.GitLabOptions{})
		s := spec
		s.Reviewers = []string{"mallory"}
		_, err := c.CreatePullRequest(ctx, s)
		check(t, err, forge.ErrValidation, "mallory")
	})
	t.Run("job token", func(t *testing.T) {
		fake := forgetest.NewGitLab(t, forgetest.GitLabOptions{Token: "pat", JobToken: token, Project: "acme/manifests"})
		c, _ := New(Options{BaseURL: fake.URL(), Token: token, JobToken: true, Repo: forge.Repo{Path: "acme/manifests"}, Retry: fastRetry})
		if _, err := c.FindPullRequest(ctx, "x", "main"); err != nil {
			t.Fatalf("a job token may read: %v", err)
		}
		_, err := c.CreatePullRequest(ctx, spec)
		check(t, err, forge.ErrForbidden, "project access token with the api and write_repository scopes")
	})
	t.Run("5xx is bounded", func(t *testing.T) {
		fake, c := setup(t, forgetest.GitLabOptions{})
		fake.InjectFault(forgetest.Fault{Status: http.StatusBadGateway, Times: 100})
		start := time.Now()
		_, err := c.FindPullRequest(ctx, "x", "main")
		check(t, err, forge.ErrUnavailable, "502")
		if calls := fake.TotalCalls(); calls < 2 || calls > 10 {
			t.Errorf("%d attempts", calls)
		}
		if time.Since(start) > 5*time.Second {
			t.Error("retries were not bounded in time")
		}
	})
}

func TestRateLimitThenSuccess(t *testing.T) {
	fake, c := setup(t, forgetest.GitLabOptions{})
	fake.InjectFault(forgetest.Fault{Operation: "postApiV4ProjectsIdMergeRequests", Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"0"}}})
	pr, err := c.CreatePullRequest(context.Background(), forge.PullRequestSpec{Base: "main", Head: "bump/api", Title: "t", Body: "b"})
	if err != nil || pr.Number != 1 {
		t.Fatalf("after a rate limit: %v %v", pr, err)
	}
	if n := fake.Calls()["postApiV4ProjectsIdMergeRequests"]; n != 2 {
		t.Errorf("create called %d times, want 2", n)
	}
}
