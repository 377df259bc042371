package bump

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/bump-gitops/bump/internal/forge"
	"github.com/bump-gitops/bump/internal/gitrepo"
	"github.com/bump-gitops/bump/internal/gitrepo/gittest"
)

// memForge is an in-memory forge for the orchestration's own tests: one
// open pull request per head, with hooks to play another run's part at the
// exact moment a race needs. (The spec-validated fakes serve the
// end-to-end tests in cmd/bump.)
type memForge struct {
	mu    sync.Mutex
	prs   map[string]*forge.PullRequest // by head
	calls []string
	// beforeCreate, when set, runs once before CreatePullRequest answers.
	beforeCreate func()
}

func (f *memForge) record(call string) {
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
}

func (f *memForge) FindPullRequest(_ context.Context, head, base string) (*forge.PullRequest, error) {
	f.record("find")
	f.mu.Lock()
	defer f.mu.Unlock()
	if pr, ok := f.prs[head]; ok && pr.Base == base {
		c := *pr
		return &c, nil
	}
	return nil, nil
}

func (f *memForge) CreatePullRequest(_ context.Context, spec forge.PullRequestSpec) (*forge.PullRequest, error) {
	f.record("create")
	if hook := f.beforeCreate; hook != nil {
		f.beforeCreate = nil
		hook()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.prs[spec.Head]; ok {
		return nil, fmt.Errorf("create: %w", forge.ErrExists)
	}
	pr := &forge.PullRequest{Number: len(f.prs) + 1, Head: spec.Head, Base: spec.Base, Title: spec.Title, Body: spec.Body}
	pr.URL = fmt.Sprintf("https://forge.test/pr/%d", pr.Number)
	f.prs[spec.Head] = pr
	c := *pr
	return &c, nil
}

func (f *memForge) UpdatePullRequest(_ context.Context, pr *forge.PullRequest, spec forge.PullRequestSpec) (*forge.PullRequest, error) {
	f.record("update")
	f.mu.Lock()
	defer f.mu.Unlock()
	cur := f.prs[pr.Head]
	cur.Title, cur.Body = spec.Title, spec.Body
	c := *cur
	return &c, nil
}

func (f *memForge) ListPullRequests(context.Context, string) ([]forge.PullRequest, error) {
	f.record("list")
	return nil, nil
}

func (f *memForge) ClosePullRequest(context.Context, *forge.PullRequest, string) error {
	f.record("close")
	return nil
}

const deployment = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: ghcr.io/acme/api:v1.2.2 # keep\n"

func raceSetup(t *testing.T) (*gittest.Server, Options) {
	t.Helper()
	s := gittest.NewServer(t)
	url := s.CreateRepo(t, "m", map[string]string{"deploy.yaml": deployment})
	return s, Options{
		Mode:    OpenPR,
		RepoURL: url,
		Auth:    gitrepo.Auth{Password: s.Password},
		Author:  gitrepo.Identity{Name: "Bump", Email: "bump@example.com"},
	}
}

// A newer run pushes the branch between this run's push and its pull
// request: the pull request must end up describing what the branch holds
// (the newer version), not this run's older one.
func TestPullRequestDescribesBranchThatMovedOn(t *testing.T) {
	ctx := context.Background()
	s, opts := raceSetup(t)
	f := &memForge{prs: map[string]*forge.PullRequest{}}
	opts.Forge = f
	opts.Source = Fixed(mustRefs(t, "ghcr.io/acme/api:v1.2.3"))
	f.beforeCreate = func() {
		newer := opts
		newer.Mode, newer.Forge = Push, nil
		newer.Source = Fixed(mustRefs(t, "ghcr.io/acme/api:v1.2.4"))
		if _, err := Run(ctx, newer); err != nil {
			t.Errorf("the newer run: %v", err)
		}
	}

	out, err := Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.File(t, "m", "bump/api", "deploy.yaml"); !strings.Contains(got, "api:v1.2.4 # keep") {
		t.Fatalf("branch holds:\n%s", got)
	}
	pr := f.prs["bump/api"]
	if len(f.prs) != 1 || pr == nil || out.PullRequest == nil || out.PullRequest.Number != pr.Number || !out.PullRequest.Created {
		t.Fatalf("pull requests %v, outcome %+v", f.prs, out.PullRequest)
	}
	if !strings.Contains(pr.Title, "v1.2.4") || strings.Contains(pr.Title, "v1.2.3") {
		t.Errorf("title describes the wrong version: %q", pr.Title)
	}
	if !strings.Contains(pr.Body, "| v1.2.2 | v1.2.4 |") || strings.Contains(pr.Body, "v1.2.3") {
		t.Errorf("body describes the wrong version:\n%s", pr.Body)
	}
	// find, create, then (branch moved) find and update.
	if want := "find create find update"; strings.Join(f.calls, " ") != want {
		t.Errorf("forge calls %v, want %s", f.calls, want)
	}
}

// Another run opens the pull request between this run's find and create:
// the forge refuses the second one and this run updates the first.
func TestPullRequestOpenedMeanwhile(t *testing.T) {
	ctx := context.Background()
	_, opts := raceSetup(t)
	f := &memForge{prs: map[string]*forge.PullRequest{}}
	opts.Forge = f
	opts.Source = Fixed(mustRefs(t, "ghcr.io/acme/api:v1.2.3"))
	f.beforeCreate = func() {
		f.prs["bump/api"] = &forge.PullRequest{Number: 7, URL: "https://forge.test/pr/7", Head: "bump/api", Base: "main", Title: "theirs"}
	}
	out, err := Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.prs) != 1 || out.PullRequest == nil || out.PullRequest.Number != 7 || out.PullRequest.Created {
		t.Fatalf("pull requests %v, outcome %+v", f.prs, out.PullRequest)
	}
	if title := f.prs["bump/api"].Title; !strings.Contains(title, "v1.2.3") {
		t.Errorf("title not updated: %q", title)
	}
	if want := "find create find update"; strings.Join(f.calls, " ") != want {
		t.Errorf("forge calls %v, want %s", f.calls, want)
	}
}
