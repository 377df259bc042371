package gitea_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bump-gitops/bump/internal/bump"
	"github.com/bump-gitops/bump/internal/forge"
	"github.com/bump-gitops/bump/internal/forge/gitea"
	"github.com/bump-gitops/bump/internal/forge/giteatest"
)

// The adapter is what a run needs from a forge.
var _ bump.Forge = (*gitea.Client)(nil)

// counter counts the requests that reach the server, by method and path.
type counter struct {
	mu    sync.Mutex
	calls []string
	next  http.RoundTripper
}

func (c *counter) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.calls = append(c.calls, req.Method+" "+req.URL.Path)
	c.mu.Unlock()
	return c.next.RoundTrip(req)
}

// take returns the calls so far and starts counting anew.
func (c *counter) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	return out
}

type env struct {
	s    *giteatest.Server
	cnt  *counter
	repo string
	c    *gitea.Client
}

func newEnv(t *testing.T, s *giteatest.Server, repo string) *env {
	t.Helper()
	s.CreateRepo(t, repo)
	cnt := &counter{next: http.DefaultTransport}
	c, err := gitea.New(gitea.Options{
		BaseURL:    s.URL + "/api/v1/", // the API URL is accepted as well as the server's
		Token:      s.Token,
		Repo:       forge.Repo{Host: "127.0.0.1", Path: s.User + "/" + repo},
		HTTPClient: &http.Client{Transport: cnt},
		MergeWait:  30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{s: s, cnt: cnt, repo: repo, c: c}
}

type apiPR struct {
	Title     string
	Body      string
	State     string
	Merged    bool
	Draft     bool
	Labels    []struct{ Name string }
	Assignees []struct{ Login string }
	Reviewers []struct{ Login string } `json:"requested_reviewers"`
}

func (e *env) get(t *testing.T, number int) apiPR {
	t.Helper()
	var pr apiPR
	e.s.MustAPI(t, http.MethodGet, "/repos/"+e.s.User+"/"+e.repo+"/pulls/"+strconv.Itoa(number), nil, &pr)
	return pr
}

// TestAgainstGitea runs the adapter against a real Gitea (see giteatest
// for when it runs). One server, a repository per subtest.
func TestAgainstGitea(t *testing.T) {
	s := giteatest.Start(t)
	ctx := context.Background()

	t.Run("open find update", func(t *testing.T) {
		e := newEnv(t, s, "open")
		s.PushBranch(t, e.repo, "bump/app", "app.yaml", "image: app:1.1\n")
		e.cnt.take()
		pr, err := e.c.FindPullRequest(ctx, "bump/app", "main")
		if err != nil || pr != nil {
			t.Fatalf("find before create = %v, %v; want nil, nil", pr, err)
		}
		pr, err = e.c.CreatePullRequest(ctx, forge.PullRequestSpec{Base: "main", Head: "bump/app", Title: "bump app to 1.1", Body: "body 1"})
		if err != nil {
			t.Fatal(err)
		}
		if calls := e.cnt.take(); len(calls) > 3 {
			t.Errorf("opening a pull request took %d calls, want ≤ 3: %v", len(calls), calls)
		} else {
			t.Logf("open without extras: %d calls: %v", len(calls), calls)
		}
		if pr.Number == 0 || pr.Head != "bump/app" || pr.Base != "main" || pr.Draft || !strings.Contains(pr.URL, "/pulls/") {
			t.Errorf("created %+v", pr)
		}
		found, err := e.c.FindPullRequest(ctx, "bump/app", "main")
		if err != nil || found == nil || found.Number != pr.Number || found.Title != "bump app to 1.1" || found.Body != "body 1" {
			t.Fatalf("find after create = %+v, %v", found, err)
		}
		if other, err := e.c.FindPullRequest(ctx, "bump/app", "release"); err != nil || other != nil {
			t.Errorf("find into another base = %+v, %v; want nil", other, err)
		}
		e.cnt.take()
		up, err := e.c.UpdatePullRequest(ctx, found, forge.PullRequestSpec{Base: "main", Head: "bump/app", Title: "bump app to 1.2", Body: "body 2"})
		if err != nil {
			t.Fatal(err)
		}
		if calls := e.cnt.take(); len(calls) > 2 {
			t.Errorf("updating took %d calls, want ≤ 2: %v", len(calls), calls)
		} else {
			t.Logf("update without extras: %d calls: %v", len(calls), calls)
		}
		if got := e.get(t, pr.Number); got.Title != "bump app to 1.2" || got.Body != "body 2" || up.Title != got.Title {
			t.Errorf("after update: server has %q/%q, adapter returned %q", got.Title, got.Body, up.Title)
		}
		_, err = e.c.CreatePullRequest(ctx, forge.PullRequestSpec{Base: "main", Head: "bump/app", Title: "again"})
		if !errors.Is(err, forge.ErrExists) {
			t.Errorf("second create: %v, want ErrExists", err)
		}
		oneLine(t, err)
	})

	t.Run("labels reviewers assignees", func(t *testing.T) {
		e := newEnv(t, s, "extras")
		e.s.CreateLabel(t, e.repo, "dependencies")
		e.s.CreateLabel(t, e.repo, "bump")
		e.s.CreateLabel(t, e.repo, "keep-me")
		e.s.AddCollaborator(t, e.repo, "reviewer1")
		e.s.AddCollaborator(t, e.repo, "assignee1")
		s.PushBranch(t, e.repo, "bump/api", "api.yaml", "image: api:2\n")
		e.cnt.take()
		spec := forge.PullRequestSpec{
			Base: "main", Head: "bump/api", Title: "bump api", Body: "b",
			Labels: []string{"dependencies", "bump"}, Reviewers: []string{"reviewer1"}, Assignees: []string{"assignee1"},
		}
		pr, err := e.c.CreatePullRequest(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("open with labels, reviewer, assignee: %d calls", len(e.cnt.take()))
		got := e.get(t, pr.Number)
		if names := labelNames(got); !slices.Equal(names, []string{"bump", "dependencies"}) {
			t.Errorf("labels %v", names)
		}
		if len(got.Reviewers) != 1 || got.Reviewers[0].Login != "reviewer1" {
			t.Errorf("reviewers %+v", got.Reviewers)
		}
		if len(got.Assignees) != 1 || got.Assignees[0].Login != "assignee1" {
			t.Errorf("assignees %+v", got.Assignees)
		}
		// A label a person adds stays when bump updates the labels.
		e.s.MustAPI(t, http.MethodPost, "/repos/"+s.User+"/"+e.repo+"/issues/"+strconv.Itoa(pr.Number)+"/labels", map[string]any{"labels": []string{"keep-me"}}, nil)
		found, err := e.c.FindPullRequest(ctx, "bump/api", "main")
		if err != nil || found == nil {
			t.Fatalf("find: %v %v", found, err)
		}
		e.cnt.take()
		if _, err := e.c.UpdatePullRequest(ctx, found, spec); err != nil {
			t.Fatal(err)
		}
		t.Logf("update with labels, reviewer, assignee: %d calls", len(e.cnt.take()))
		if names := labelNames(e.get(t, pr.Number)); !slices.Equal(names, []string{"bump", "dependencies", "keep-me"}) {
			t.Errorf("labels after update %v, want the person's label kept", names)
		}

		s.PushBranch(t, e.repo, "bump/other", "other.yaml", "x\n")
		_, err = e.c.CreatePullRequest(ctx, forge.PullRequestSpec{Base: "main", Head: "bump/other", Title: "t", Labels: []string{"bump", "no-such-label"}})
		if !errors.Is(err, forge.ErrValidation) || !strings.Contains(err.Error(), `"no-such-label"`) {
			t.Errorf("missing label: %v, want ErrValidation naming it", err)
		}
		if pr, _ := e.c.FindPullRequest(ctx, "bump/other", "main"); pr != nil {
			t.Errorf("a pull request was opened despite the missing label: %+v", pr)
		}
		_, err = e.c.CreatePullRequest(ctx, forge.PullRequestSpec{Base: "main", Head: "bump/other", Title: "t", Reviewers: []string{"nobody-here"}})
		if err == nil || !errors.Is(err, forge.ErrValidation) && !errors.Is(err, forge.ErrNotFound) {
			t.Errorf("unknown reviewer: %v", err)
		}
		oneLine(t, err)
	})

	t.Run("organisation labels", func(t *testing.T) {
		s.CreateOrgRepo(t, "acme", "deploy")
		s.CreateOrgLabel(t, "acme", "org-wide")
		s.MustAPI(t, http.MethodPost, "/repos/acme/deploy/labels", map[string]any{"name": "local", "color": "#00aabb"}, nil)
		s.PushBranch(t, "acme/deploy", "bump/o", "o.yaml", "o\n")
		cnt := &counter{next: http.DefaultTransport}
		c, err := gitea.New(gitea.Options{BaseURL: s.URL, Token: s.Token, Repo: forge.Repo{Path: "acme/deploy"}, HTTPClient: &http.Client{Transport: cnt}})
		if err != nil {
			t.Fatal(err)
		}
		pr, err := c.CreatePullRequest(ctx, forge.PullRequestSpec{Base: "main", Head: "bump/o", Title: "t", Labels: []string{"org-wide", "local"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("open with an organisation's label: %d calls", len(cnt.take()))
		var got apiPR
		s.MustAPI(t, http.MethodGet, "/repos/acme/deploy/pulls/"+strconv.Itoa(pr.Number), nil, &got)
		if names := labelNames(got); !slices.Equal(names, []string{"local", "org-wide"}) {
			t.Errorf("labels %v, want the repository's and the organisation's", names)
		}
	})

	t.Run("draft", func(t *testing.T) {
		e := newEnv(t, s, "draft")
		s.PushBranch(t, e.repo, "bump/d", "d.yaml", "d\n")
		pr, err := e.c.CreatePullRequest(ctx, forge.PullRequestSpec{Base: "main", Head: "bump/d", Title: "bump d", Draft: true})
		if err != nil {
			t.Fatal(err)
		}
		got := e.get(t, pr.Number)
		if got.Title != "WIP: bump d" || !got.Draft || !pr.Draft {
			t.Errorf("draft: server title %q draft %v; adapter draft %v", got.Title, got.Draft, pr.Draft)
		}
		found, _ := e.c.FindPullRequest(ctx, "bump/d", "main")
		if found == nil || !found.Draft {
			t.Fatalf("find draft: %+v", found)
		}
		if _, err := e.c.UpdatePullRequest(ctx, found, forge.PullRequestSpec{Base: "main", Head: "bump/d", Title: "bump d 2"}); err != nil {
			t.Fatal(err)
		}
		if got := e.get(t, pr.Number); got.Title != "WIP: bump d 2" {
			t.Errorf("update of a draft: title %q, want the WIP: prefix kept", got.Title)
		}
	})

	t.Run("list and close with comment", func(t *testing.T) {
		e := newEnv(t, s, "close")
		e.s.PushBranch(t, e.repo, "release", "r.txt", "r\n")
		var prs []*forge.PullRequest
		for _, head := range []string{"bump/a-1", "bump/a-2"} {
			e.s.PushBranch(t, e.repo, head, head[5:]+".yaml", head+"\n")
			pr, err := e.c.CreatePullRequest(ctx, forge.PullRequestSpec{Base: "main", Head: head, Title: head})
			if err != nil {
				t.Fatal(err)
			}
			prs = append(prs, pr)
		}
		e.s.PushBranch(t, e.repo, "bump/rel", "rel.yaml", "x\n")
		if _, err := e.c.CreatePullRequest(ctx, forge.PullRequestSpec{Base: "release", Head: "bump/rel", Title: "into release"}); err != nil {
			t.Fatal(err)
		}
		list, err := e.c.ListPullRequests(ctx, "main")
		if err != nil || len(list) != 2 {
			t.Fatalf("list into main: %+v, %v; want 2", list, err)
		}
		if err := e.c.ClosePullRequest(ctx, prs[0], "superseded by #"+strconv.Itoa(prs[1].Number)); err != nil {
			t.Fatal(err)
		}
		if got := e.get(t, prs[0].Number); got.State != "closed" || got.Merged {
			t.Errorf("closed pull request: state %q merged %v", got.State, got.Merged)
		}
		var comments []struct{ Body string }
		e.s.MustAPI(t, http.MethodGet, "/repos/"+s.User+"/"+e.repo+"/issues/"+strconv.Itoa(prs[0].Number)+"/comments", nil, &comments)
		if len(comments) != 1 || comments[0].Body != "superseded by #"+strconv.Itoa(prs[1].Number) {
			t.Errorf("comments %+v", comments)
		}
		if list, _ := e.c.ListPullRequests(ctx, "main"); len(list) != 1 || list[0].Number != prs[1].Number {
			t.Errorf("list after close: %+v", list)
		}
		// A closed pull request for the same head and base is not "the" one.
		if found, err := e.c.FindPullRequest(ctx, "bump/a-1", "main"); err != nil || found != nil {
			t.Errorf("find after close = %+v, %v; want nil", found, err)
		}
		err = e.c.ClosePullRequest(ctx, &forge.PullRequest{Number: 999}, "")
		if !errors.Is(err, forge.ErrNotFound) || !strings.Contains(err.Error(), "#999") {
			t.Errorf("close a missing pull request: %v", err)
		}
	})

	t.Run("auto-merge once checks succeed", func(t *testing.T) {
		e := newEnv(t, s, "automerge")
		// Gitea waits for checks only when the base branch requires them.
		s.ProtectBranch(t, e.repo, "main", "ci/test")
		sha := s.PushBranch(t, e.repo, "bump/m", "m.yaml", "m\n")
		s.SetStatus(t, e.repo, sha, "pending")
		e.cnt.take()
		pr, err := e.c.CreatePullRequest(ctx, forge.PullRequestSpec{Base: "main", Head: "bump/m", Title: "bump m", AutoMerge: true, MergeMethod: "squash"})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("open with auto-merge: %v", e.cnt.take())
		if got := e.get(t, pr.Number); got.Merged {
			t.Fatal("merged while its check was pending")
		}
		// Scheduling again (a later run updating the pull request) is fine.
		if _, err := e.c.UpdatePullRequest(ctx, pr, forge.PullRequestSpec{Base: "main", Head: "bump/m", Title: "bump m", AutoMerge: true, MergeMethod: "squash"}); err != nil {
			t.Fatalf("update with auto-merge already scheduled: %v", err)
		}
		s.SetStatus(t, e.repo, sha, "success")
		deadline := time.Now().Add(60 * time.Second)
		for !e.get(t, pr.Number).Merged {
			if time.Now().After(deadline) {
				t.Fatal("not merged within 60s of the success status")
			}
			time.Sleep(200 * time.Millisecond)
		}
		var merged []struct{ Commit struct{ Message string } }
		e.s.MustAPI(t, http.MethodGet, "/repos/"+s.User+"/"+e.repo+"/commits?sha=main&limit=1", nil, &merged)
		if len(merged) == 0 || !strings.HasPrefix(merged[0].Commit.Message, "bump m") {
			t.Errorf("main's head after a squash merge: %+v", merged)
		}
		_, err = e.c.CreatePullRequest(ctx, forge.PullRequestSpec{Base: "main", Head: "bump/m", Title: "t", AutoMerge: true, MergeMethod: "octopus"})
		if !errors.Is(err, forge.ErrValidation) {
			t.Errorf("unknown merge method: %v", err)
		}
	})

	t.Run("wrong token", func(t *testing.T) {
		s.CreateRepo(t, "secret")
		const bad = "0123456789abcdef0123456789abcdef01234567"
		c, err := gitea.New(gitea.Options{BaseURL: s.URL, Token: bad, Repo: forge.Repo{Path: s.User + "/secret"}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.FindPullRequest(ctx, "bump/x", "main")
		if !errors.Is(err, forge.ErrUnauthorized) {
			t.Fatalf("wrong token: %v, want ErrUnauthorized", err)
		}
		oneLine(t, err)
		if strings.Contains(err.Error(), bad) {
			t.Errorf("error shows the token: %v", err)
		}
		t.Logf("wrong token: %v", err)
		c, _ = gitea.New(gitea.Options{BaseURL: s.URL, Token: s.Token, Repo: forge.Repo{Path: s.User + "/no-such-repo"}})
		if _, err := c.ListPullRequests(ctx, "main"); !errors.Is(err, forge.ErrNotFound) {
			t.Errorf("missing repository: %v, want ErrNotFound", err)
		}
	})
}

func labelNames(pr apiPR) []string {
	var names []string
	for _, l := range pr.Labels {
		names = append(names, l.Name)
	}
	slices.Sort(names)
	return names
}

func oneLine(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
		t.Errorf("error is not one line: %q", err)
	}
}
