package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

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
	if mr.Title != "Draft: bump api v2" || mr.Description != "new table" || strings.Join(mr.Labels, ",") != "deploy,automated" {
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
		t.Log(err)
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
		_, err := c.FindPullRequest(ctx, "x", "main")
		check(t, err, forge.ErrForbidden, "CI_JOB_TOKEN cannot open merge requests")
		_, err = c.CreatePullRequest(ctx, spec)
		check(t, err, forge.ErrForbidden, "project access token with the api and write_repository scopes and pass it as GITLAB_TOKEN")
		if b := fake.LastBody("postApiV4ProjectsIdMergeRequests"); b != nil || len(fake.MergeRequests()) != 0 {
			t.Errorf("a job token wrote: %v", b)
		}
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

// The request bodies are what GitLab's API expects: labels comma-joined,
// ids resolved from usernames, both auto-merge field names.
func TestCreateRequestShape(t *testing.T) {
	ctx := context.Background()
	fake, c := setup(t, forgetest.GitLabOptions{Users: map[string]int64{"alice": 7, "alicia": 9, "bob": 8}})
	_, err := c.CreatePullRequest(ctx, forge.PullRequestSpec{Base: "main", Head: "bump/api", Title: "t", Body: "b",
		Labels: []string{"deploy", "automated"}, Reviewers: []string{"alice"}, Assignees: []string{"bob"},
		AutoMerge: true, RemoveSourceBranch: true, Squash: true})
	if err != nil {
		t.Fatal(err)
	}
	body := fake.LastBody("postApiV4ProjectsIdMergeRequests")
	ids := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	if body["labels"] != "deploy,automated" || ids(body["reviewer_ids"]) != "[7]" || ids(body["assignee_ids"]) != "[8]" ||
		body["remove_source_branch"] != true || body["squash"] != true || body["title"] != "t" || body["description"] != "b" {
		t.Errorf("create body: %v", body)
	}
	merge := fake.LastBody("putApiV4ProjectsIdMergeRequestsMergeRequestIidMerge")
	if merge["auto_merge"] != true || merge["merge_when_pipeline_succeeds"] != true {
		t.Errorf("merge body: %v", merge)
	}
	calls := fake.Calls()
	if calls["getApiV4ProjectsIdUsers"] != 2 || calls["putApiV4ProjectsIdMergeRequestsMergeRequestIidMerge"] != 1 || fake.TotalCalls() != 4 {
		t.Errorf("calls with reviewer, assignee and auto-merge: %v", calls)
	}

	// Without those options none of the extra calls or fields happen.
	fake.ResetCalls()
	if _, err := c.CreatePullRequest(ctx, forge.PullRequestSpec{Base: "main", Head: "bump/web", Title: "t", Body: "b"}); err != nil {
		t.Fatal(err)
	}
	body = fake.LastBody("postApiV4ProjectsIdMergeRequests")
	for _, k := range []string{"labels", "reviewer_ids", "assignee_ids", "remove_source_branch", "squash"} {
		if _, ok := body[k]; ok {
			t.Errorf("plain create sent %s: %v", k, body)
		}
	}
	if fake.TotalCalls() != 1 {
		t.Errorf("plain create: %v", fake.Calls())
	}
}

// Update adds labels without dropping the ones people set, and leaves the
// draft state as it is on the forge.
func TestUpdateKeepsDraftAndLabels(t *testing.T) {
	ctx := context.Background()
	fake, c := setup(t, forgetest.GitLabOptions{})
	pr, err := c.CreatePullRequest(ctx, forge.PullRequestSpec{Base: "main", Head: "h", Title: "t", Draft: true, Labels: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	if !pr.Draft || pr.Title != "Draft: t" {
		t.Fatalf("created %+v", pr)
	}
	pr, err = c.UpdatePullRequest(ctx, pr, forge.PullRequestSpec{Base: "main", Head: "h", Title: "t2", Labels: []string{"b"}})
	if err != nil {
		t.Fatal(err)
	}
	if !pr.Draft || pr.Title != "Draft: t2" || strings.Join(pr.Labels, ",") != "a,b" {
		t.Errorf("updated draft: %+v", pr)
	}
	if b := fake.LastBody("putApiV4ProjectsIdMergeRequestsMergeRequestIid"); b["add_labels"] != "b" || b["labels"] != nil {
		t.Errorf("update body: %v", b)
	}
	pr.Draft = false // a person marked it ready
	pr, err = c.UpdatePullRequest(ctx, pr, forge.PullRequestSpec{Base: "main", Head: "h", Title: "t3", Draft: true})
	if err != nil {
		t.Fatal(err)
	}
	if pr.Draft || pr.Title != "t3" {
		t.Errorf("ready merge request was turned back into a draft: %+v", pr)
	}
	_, err = c.UpdatePullRequest(ctx, &forge.PullRequest{Number: 9}, forge.PullRequestSpec{Title: "x"})
	if !errors.Is(err, forge.ErrNotFound) || !strings.Contains(err.Error(), "merge request !9") {
		t.Errorf("update of a missing merge request: %v", err)
	}
}

func TestMoreErrors(t *testing.T) {
	ctx := context.Background()
	spec := forge.PullRequestSpec{Base: "main", Head: "bump/api", Title: "t", Body: "b"}
	noToken := func(t *testing.T, err error) {
		t.Helper()
		t.Log(err)
		if err == nil || strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "\n") {
			t.Errorf("err = %q, want one line without the token", err)
		}
	}
	t.Run("forbidden", func(t *testing.T) {
		fake, c := setup(t, forgetest.GitLabOptions{})
		fake.InjectFault(forgetest.Fault{Status: http.StatusForbidden, Body: `{"message":"403 Forbidden - insufficient_scope"}`})
		_, err := c.CreatePullRequest(ctx, spec)
		noToken(t, err)
		if !errors.Is(err, forge.ErrForbidden) || !strings.Contains(err.Error(), "insufficient_scope") {
			t.Errorf("err = %v", err)
		}
		if n := fake.TotalCalls(); n != 1 {
			t.Errorf("a permission 403 was retried: %d calls", n)
		}
	})
	t.Run("rate limit beyond the wait cap", func(t *testing.T) {
		fake, c := setup(t, forgetest.GitLabOptions{})
		reset := time.Now().Add(time.Hour).Unix()
		fake.InjectFault(forgetest.Fault{Status: http.StatusTooManyRequests, Header: http.Header{
			"Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {strconv.FormatInt(reset, 10)}}})
		_, err := c.FindPullRequest(ctx, "x", "main")
		noToken(t, err)
		var rl *forge.RateLimitError
		if !errors.As(err, &rl) || !errors.Is(err, forge.ErrRateLimited) || rl.RetryAfter < 59*time.Minute || rl.RetryAfter > time.Hour {
			t.Errorf("err = %v (%+v)", err, rl)
		}
		if n := fake.TotalCalls(); n != 1 {
			t.Errorf("waited for an hour-long limit: %d calls", n)
		}
	})
	t.Run("5xx retried exactly by the shared transport", func(t *testing.T) {
		fake, c := setup(t, forgetest.GitLabOptions{})
		fake.InjectFault(forgetest.Fault{Status: http.StatusServiceUnavailable, Times: 100})
		_, err := c.ListPullRequests(ctx, "main")
		noToken(t, err)
		if !errors.Is(err, forge.ErrUnavailable) {
			t.Errorf("err = %v", err)
		}
		// RetryOptions.MaxAttempts defaults to 4; client-go retrying too would multiply it.
		if n := fake.TotalCalls(); n != 4 {
			t.Errorf("%d attempts, want 4", n)
		}
	})
	t.Run("create applied but answered 502", func(t *testing.T) {
		fake, c := setup(t, forgetest.GitLabOptions{})
		fake.InjectFault(forgetest.Fault{Operation: "postApiV4ProjectsIdMergeRequests", Status: http.StatusBadGateway, After: true})
		_, err := c.CreatePullRequest(ctx, spec)
		if !errors.Is(err, forge.ErrExists) {
			t.Fatalf("retried create: %v, want ErrExists", err)
		}
		pr, err := c.FindPullRequest(ctx, spec.Head, spec.Base)
		if err != nil || pr == nil || pr.Number != 1 || len(fake.MergeRequests()) != 1 {
			t.Errorf("after the lost answer: %+v %v, %d merge requests", pr, err, len(fake.MergeRequests()))
		}
	})
	t.Run("dropped connection on a read", func(t *testing.T) {
		fake, c := setup(t, forgetest.GitLabOptions{})
		fake.InjectFault(forgetest.Fault{Drop: true})
		if _, err := c.ListPullRequests(ctx, "main"); err != nil {
			t.Errorf("a read after a dropped connection: %v", err)
		}
		if n := fake.TotalCalls(); n != 2 {
			t.Errorf("%d calls, want 2", n)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		fake, c := setup(t, forgetest.GitLabOptions{})
		fake.InjectFault(forgetest.Fault{Delay: 5 * time.Second})
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.FindPullRequest(cctx, "x", "main")
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
			t.Errorf("err = %v after %v", err, time.Since(start))
		}
	})
	t.Run("no token", func(t *testing.T) {
		if _, err := New(Options{Repo: forge.Repo{Path: "a/b"}}); err == nil {
			t.Error("New without a token succeeded")
		}
	})
}

func TestBaseURL(t *testing.T) {
	c, err := New(Options{Token: token, Repo: forge.Repo{Path: "a/b"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.api.BaseURL().String(); got != "https://gitlab.com/api/v4/" {
		t.Errorf("default base URL %s", got)
	}
	// A self-hosted URL with a trailing slash still reaches /api/v4.
	fake := forgetest.NewGitLab(t, forgetest.GitLabOptions{Token: token})
	c, err = New(Options{BaseURL: fake.URL() + "/", Token: token, Repo: forge.Repo{Path: "acme/manifests"}, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListPullRequests(context.Background(), "main"); err != nil {
		t.Error(err)
	}
	c, err = New(Options{BaseURL: fake.URL() + "/api/v4", Token: token, Repo: forge.Repo{Path: "acme/manifests"}, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListPullRequests(context.Background(), "main"); err != nil {
		t.Errorf("with CI_API_V4_URL: %v", err)
	}
	if _, err := New(Options{Token: token}); err == nil {
		t.Error("New without a project succeeded")
	}
}

func TestMessage(t *testing.T) {
	for body, want := range map[string]string{
		`{"message":"403 Forbidden"}`:                                    "403 Forbidden",
		`{"message":["Another open merge request already exists: !3"]}`:  "Another open merge request already exists: !3",
		`{"message":{"title":["is too long"],"base":["x","y"]}}`:         "base x; base y; title is too long",
		`{"error":"insufficient_scope","error_description":"needs api"}`: "insufficient_scope needs api",
		`not json`: "raw",
	} {
		if got := message(&gl.ErrorResponse{Body: []byte(body), Message: "raw"}); got != want {
			t.Errorf("message(%s) = %q, want %q", body, got, want)
		}
	}
}

// GitLab's RateLimit-Reset is honoured: the retry waits until the reset,
// through the injected sleep, and then succeeds.
func TestRateLimitResetHonoured(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var slept []time.Duration
	retry := forge.RetryOptions{
		Now:    func() time.Time { return now },
		Jitter: func(d time.Duration) time.Duration { return d },
		Sleep:  func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil },
	}
	fake := forgetest.NewGitLab(t, forgetest.GitLabOptions{Token: token})
	c, err := New(Options{BaseURL: fake.URL(), Token: token, Repo: forge.Repo{Path: "acme/manifests"}, Retry: retry})
	if err != nil {
		t.Fatal(err)
	}
	fake.InjectFault(forgetest.Fault{Status: http.StatusTooManyRequests, Header: http.Header{
		"Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {strconv.FormatInt(now.Add(7*time.Second).Unix(), 10)}}})
	if _, err := c.ListPullRequests(context.Background(), "main"); err != nil {
		t.Fatal(err)
	}
	if len(slept) != 1 || slept[0] != 7*time.Second {
		t.Errorf("slept %v, want [7s]", slept)
	}
}
