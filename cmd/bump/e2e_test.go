package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bump-gitops/bump/internal/forge/forgetest"
	"github.com/bump-gitops/bump/internal/gitrepo/gittest"
)

// The end-to-end tests run the real bump binary (this test executable,
// dispatched by testscript.Main) against a real git server and the
// spec-validated fake forge.

const canary = "canary-tok-9d3f1c7e"

var manifests = map[string]string{
	"apps/api/deployment.yaml": `# API
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/api:v1.2.2 # {"$imagepolicy": "flux-system:api"}

        - name: sidecar
          image: ghcr.io/acme/api-worker:v1.2.2
`,
	"apps/web/kustomization.yaml": "images:\r\n  - name: ghcr.io/acme/web\r\n    newTag: \"1.9\"\r\n",
	"README.md":                   "# manifests\n",
}

type env struct {
	t      *testing.T
	git    *gittest.Server
	gh     *forgetest.GitHub
	repo   string // clone URL
	name   string // repository path on the server
	vars   []string
	binDir string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, name: "acme/manifests"}
	e.git = gittest.NewServer(t, gittest.WithCredentials("x-access-token", canary))
	e.repo = e.git.CreateRepo(t, e.name, manifests)
	e.gh = forgetest.NewGitHub(t, forgetest.GitHubOptions{
		Owner: "acme", Repo: "manifests", Token: canary,
		BranchExists: func(b string) bool { return e.git.Head(e.name, b) != "" },
		Git:          &forgetest.BareRepo{Dir: e.git.RepoDir(e.name)},
	})
	e.binDir = t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, filepath.Join(e.binDir, "bump")); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	e.vars = append(gittest.Env(home),
		"BUMP_TOKEN="+canary,
		"BUMP_FORGE=github",
		"BUMP_FORGE_URL="+e.gh.URL(),
		"BUMP_AUTHOR=Bump Bot <bot@example.com>",
		"NO_COLOR=1",
	)
	return e
}

type result struct {
	stdout, stderr string
	code           int
}

func (e *env) run(extra []string, args ...string) result {
	e.t.Helper()
	cmd := exec.Command(filepath.Join(e.binDir, "bump"), args...)
	cmd.Env = append(append([]string(nil), e.vars...), extra...)
	cmd.Dir = e.t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		e.t.Fatal(err)
	}
	for _, s := range []string{res.stdout, res.stderr} {
		if strings.Contains(s, canary) {
			e.t.Errorf("the token leaked into the output:\n%s", s)
		}
	}
	return res
}

func (e *env) bump(args ...string) result {
	e.t.Helper()
	return e.run(nil, append([]string{"--repo", e.repo}, args...)...)
}

func (e *env) ok(r result) result {
	e.t.Helper()
	if r.code != 0 {
		e.t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	return r
}

func (e *env) gitOut(args ...string) string {
	e.t.Helper()
	return gittest.Git(e.t, e.git.RepoDir(e.name), args...)
}

// noLeak checks that the token is nowhere in the repository's objects.
func (e *env) noLeak() {
	e.t.Helper()
	all := e.gitOut("log", "--all", "-p", "--format=%H%n%an %ae%n%B")
	if strings.Contains(all, canary) {
		e.t.Error("the token is in the pushed history")
	}
	cfg, _ := os.ReadFile(filepath.Join(e.git.RepoDir(e.name), "config"))
	if bytes.Contains(cfg, []byte(canary)) {
		e.t.Error("the token is in the repository config")
	}
}

func TestPushBranchNoPR(t *testing.T) {
	e := newEnv(t)
	r := e.ok(e.bump("--image", "ghcr.io/acme/api:v1.2.3", "--no-pr"))
	if !strings.Contains(r.stdout, "apps/api/deployment.yaml:11  ghcr.io/acme/api  v1.2.2 → v1.2.3") {
		t.Errorf("stdout lacks the change:\n%s", r.stdout)
	}
	if n := e.gitOut("rev-list", "--count", "main..bump/api"); n != "1" {
		t.Fatalf("%s commits on bump/api, want exactly 1", n)
	}
	// The diff is exactly the image line.
	diff := e.gitOut("diff", "-U0", "main", "bump/api")
	var changed []string
	for _, l := range strings.Split(diff, "\n") {
		if (strings.HasPrefix(l, "+") || strings.HasPrefix(l, "-")) && !strings.HasPrefix(l, "+++") && !strings.HasPrefix(l, "---") {
			changed = append(changed, l)
		}
	}
	want := []string{
		`-          image: ghcr.io/acme/api:v1.2.2 # {"$imagepolicy": "flux-system:api"}`,
		`+          image: ghcr.io/acme/api:v1.2.3 # {"$imagepolicy": "flux-system:api"}`,
	}
	if strings.Join(changed, "\n") != strings.Join(want, "\n") {
		t.Errorf("diff lines:\n%s\nwant:\n%s", strings.Join(changed, "\n"), strings.Join(want, "\n"))
	}
	if got := e.gitOut("log", "-1", "--format=%an <%ae>%n%s", "bump/api"); got != "Bump Bot <bot@example.com>\nchore(deploy): bump ghcr.io/acme/api to v1.2.3" {
		t.Errorf("author and subject: %q", got)
	}
	if e.gh.TotalCalls() != 0 {
		t.Errorf("--no-pr made %d forge API calls", e.gh.TotalCalls())
	}
	first := e.git.Head(e.name, "bump/api")

	// The same run again: nothing to push.
	e.ok(e.bump("--image", "ghcr.io/acme/api:v1.2.3", "--no-pr"))
	if e.git.Head(e.name, "bump/api") != first {
		t.Error("an identical re-run moved the branch")
	}
	// A newer version rebuilds the same branch: latest base + one commit.
	e.git.Commit(t, e.name, "main", map[string]string{"README.md": "# moved on\n"}, "unrelated")
	e.ok(e.bump("--image", "ghcr.io/acme/api:v1.2.4", "--no-pr"))
	if n := e.gitOut("rev-list", "--count", "main..bump/api"); n != "1" {
		t.Errorf("%s commits on bump/api after the rebuild, want 1", n)
	}
	if base := e.gitOut("merge-base", "main", "bump/api"); base != e.git.Head(e.name, "main") {
		t.Error("the branch was not rebuilt on the latest base")
	}
	if f := e.git.File(t, e.name, "bump/api", "apps/api/deployment.yaml"); !strings.Contains(f, "api:v1.2.4 #") {
		t.Errorf("branch content:\n%s", f)
	}
	// An older pipeline finishing late does not replace the newer proposal.
	r = e.ok(e.bump("--image", "ghcr.io/acme/api:v1.2.3", "--no-pr"))
	if !strings.Contains(r.stdout, "already proposes") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if f := e.git.File(t, e.name, "bump/api", "apps/api/deployment.yaml"); !strings.Contains(f, "api:v1.2.4 #") {
		t.Error("an older version replaced the newer one")
	}
	e.noLeak()
}

func TestPullRequestCreateThenUpdate(t *testing.T) {
	e := newEnv(t)
	r := e.ok(e.bump("--image", "ghcr.io/acme/api:v1.2.3", "--output", "json"))
	var out struct {
		Changed     bool
		Commit      string
		Branch      string
		PullRequest struct {
			Number  int
			URL     string
			Created bool
		} `json:"pull_request"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if !out.Changed || out.Branch != "bump/api" || out.Commit != e.git.Head(e.name, "bump/api") || !out.PullRequest.Created || out.PullRequest.Number == 0 {
		t.Fatalf("outcome: %+v", out)
	}
	if calls := e.gh.TotalCalls(); calls > 4 {
		t.Errorf("create path made %d API calls (%v), budget 4", calls, e.gh.Calls())
	}
	pr, _ := e.gh.PullRequest(out.PullRequest.Number)
	if pr.Head != "bump/api" || pr.Base != "main" || pr.Title != "chore(deploy): bump ghcr.io/acme/api to v1.2.3" {
		t.Errorf("pull request: %+v", pr)
	}
	if !strings.Contains(pr.Body, "| apps/api/deployment.yaml:11 | ghcr.io/acme/api | v1.2.2 | v1.2.3 |") || !strings.Contains(pr.Body, "<!-- bump: ghcr.io/acme/api -->") {
		t.Errorf("body:\n%s", pr.Body)
	}

	// A newer version updates the same pull request.
	e.gh.ResetCalls()
	r = e.ok(e.bump("--image", "ghcr.io/acme/api:v1.2.4"))
	if !strings.Contains(r.stdout, fmt.Sprintf("updated %s", out.PullRequest.URL)) {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if calls := e.gh.TotalCalls(); calls > 3 {
		t.Errorf("update path made %d API calls (%v), budget 3", calls, e.gh.Calls())
	}
	if n := len(e.gh.PullRequests()); n != 1 {
		t.Fatalf("%d pull requests, want 1", n)
	}
	pr, _ = e.gh.PullRequest(out.PullRequest.Number)
	if !strings.Contains(pr.Title, "v1.2.4") || !strings.Contains(pr.Body, "| v1.2.2 | v1.2.4 |") {
		t.Errorf("not updated: %q\n%s", pr.Title, pr.Body)
	}
	e.noLeak()
}

func TestPullRequestOptions(t *testing.T) {
	e := newEnv(t)
	e.ok(e.bump("--image", "ghcr.io/acme/api:v1.2.3",
		"--label", "deploy,automated", "--reviewer", "alice", "--reviewer", "acme/platform",
		"--assignee", "bob", "--draft", "--auto-merge", "--merge-method", "rebase"))
	prs := e.gh.PullRequests()
	if len(prs) != 1 {
		t.Fatalf("%d pull requests", len(prs))
	}
	pr := prs[0]
	if !pr.Draft || strings.Join(pr.Labels, ",") != "deploy,automated" || strings.Join(pr.Reviewers, ",") != "alice" ||
		strings.Join(pr.TeamReviewers, ",") != "platform" || strings.Join(pr.Assignees, ",") != "bob" {
		t.Errorf("pull request: %+v", pr)
	}
	if pr.AutoMerge != "REBASE" {
		t.Errorf("auto-merge = %q, want REBASE", pr.AutoMerge)
	}
}

func TestErrorsAreOneLine(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name  string
		extra []string
		args  []string
		want  string
	}{
		{"bad token", []string{"BUMP_TOKEN=wrong-" + canary}, []string{"--repo", e.repo}, "authentication failed"},
		{"missing repo", nil, []string{"--repo", e.git.RepoURL("acme/nope")}, "not found"},
		{"no token", []string{"BUMP_TOKEN="}, []string{"--repo", e.repo}, "no token"},
		{"unreachable", nil, []string{"--repo", "http://127.0.0.1:1/acme/manifests.git"}, "clone"},
		{"bad image", nil, []string{"--repo", e.repo, "--image", "ghcr.io/acme/api:"}, "invalid image"},
		{"branch template makes a bad ref", nil, []string{"--repo", e.repo, "--branch", "bump/{{.Name}}..{{.Version}}"}, "invalid branch name"},
		{"branch template error", nil, []string{"--repo", e.repo, "--branch", "bump/{{.Nope}}"}, "branch template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--image", "ghcr.io/acme/api:v9.9.9"}, tt.args...)
			r := e.run(tt.extra, args...)
			if r.code == 0 {
				t.Fatalf("exit 0\n%s", r.stdout)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "bump: ") || !strings.Contains(lines[0], tt.want) {
				t.Errorf("stderr is not one line with %q:\n%s", tt.want, r.stderr)
			}
			if strings.Contains(r.stderr, "wrong-") {
				t.Errorf("stderr echoes the token: %s", r.stderr)
			}
		})
	}
	// Nothing was pushed by any of them.
	if refs := e.gitOut("for-each-ref", "--format=%(refname)"); refs != "refs/heads/main" {
		t.Errorf("refs after failures: %s", refs)
	}
}

// TestRacingPushToBase starts 20 runs of 20 different images at once, all
// pushing onto main: every bump must land, none lost.
func TestRacingPushToBase(t *testing.T) {
	e := newEnv(t)
	files := map[string]string{}
	for i := range 20 {
		files[fmt.Sprintf("apps/svc%02d.yaml", i)] = fmt.Sprintf("image: ghcr.io/acme/svc%02d:v1.0.0\n", i)
	}
	e.git.Commit(t, e.name, "main", files, "twenty services")
	var wg sync.WaitGroup
	results := make([]result, 20)
	for i := range 20 {
		wg.Go(func() {
			results[i] = e.bump("--image", fmt.Sprintf("ghcr.io/acme/svc%02d:v2.0.0", i), "--push-to-base")
		})
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("run %d: exit %d: %s", i, r.code, r.stderr)
		}
	}
	for i := range 20 {
		p := fmt.Sprintf("apps/svc%02d.yaml", i)
		if got := e.git.File(t, e.name, "main", p); got != fmt.Sprintf("image: ghcr.io/acme/svc%02d:v2.0.0\n", i) {
			t.Errorf("%s on main = %q: a bump was lost", p, got)
		}
	}
	if e.gh.TotalCalls() != 0 {
		t.Errorf("--push-to-base made %d API calls", e.gh.TotalCalls())
	}
}

// TestRacingVersions runs 10 bumps of one image with versions in shuffled
// order at once: the highest version must win, never an older one.
func TestRacingVersions(t *testing.T) {
	e := newEnv(t)
	versions := []int{7, 2, 9, 4, 10, 1, 6, 3, 8, 5}
	var wg sync.WaitGroup
	for _, v := range versions {
		wg.Go(func() {
			r := e.bump("--image", fmt.Sprintf("ghcr.io/acme/api:v1.3.%d", v), "--push-to-base")
			if r.code != 0 {
				t.Errorf("v1.3.%d: exit %d: %s", v, r.code, r.stderr)
			}
		})
	}
	wg.Wait()
	got := e.git.File(t, e.name, "main", "apps/api/deployment.yaml")
	if !strings.Contains(got, "ghcr.io/acme/api:v1.3.10 #") {
		t.Errorf("main holds:\n%s\nwant v1.3.10", got)
	}
}

// TestRacingPullRequests runs 20 pull-request runs of one image with
// shuffled versions at once: exactly one open pull request must remain,
// and both it and its branch must carry the highest version.
func TestRacingPullRequests(t *testing.T) {
	e := newEnv(t)
	versions := []int{13, 4, 19, 8, 1, 16, 11, 20, 6, 2, 15, 9, 18, 3, 12, 7, 17, 10, 5, 14}
	var wg sync.WaitGroup
	for _, v := range versions {
		wg.Go(func() {
			r := e.bump("--image", fmt.Sprintf("ghcr.io/acme/api:v2.0.%d", v))
			if r.code != 0 {
				t.Errorf("v2.0.%d: exit %d: %s", v, r.code, r.stderr)
			}
		})
	}
	wg.Wait()
	var open []forgetest.GitHubPR
	for _, pr := range e.gh.PullRequests() {
		if pr.State == "open" {
			open = append(open, pr)
		}
	}
	if len(open) != 1 {
		t.Fatalf("%d open pull requests, want 1: %+v", len(open), open)
	}
	if f := e.git.File(t, e.name, "bump/api", "apps/api/deployment.yaml"); !strings.Contains(f, "api:v2.0.20 #") {
		t.Errorf("bump/api holds:\n%s", f)
	}
	if want := "chore(deploy): bump ghcr.io/acme/api to v2.0.20"; open[0].Title != want {
		t.Errorf("title %q, want %q", open[0].Title, want)
	}
	if !strings.Contains(open[0].Body, "| v1.2.2 | v2.0.20 |") {
		t.Errorf("body:\n%s", open[0].Body)
	}
}

// TestParallelImagesOwnPullRequests runs 20 different images at once: each
// gets its own branch and pull request.
func TestParallelImagesOwnPullRequests(t *testing.T) {
	e := newEnv(t)
	files := map[string]string{}
	for i := range 20 {
		files[fmt.Sprintf("apps/svc%02d.yaml", i)] = fmt.Sprintf("image: ghcr.io/acme/svc%02d:v1.0.0\n", i)
	}
	e.git.Commit(t, e.name, "main", files, "twenty services")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			r := e.bump("--image", fmt.Sprintf("ghcr.io/acme/svc%02d:v2.0.0", i))
			if r.code != 0 {
				t.Errorf("svc%02d: exit %d: %s", i, r.code, r.stderr)
			}
		})
	}
	wg.Wait()
	prs := e.gh.PullRequests()
	if len(prs) != 20 {
		t.Fatalf("%d pull requests, want 20", len(prs))
	}
	heads := map[string]bool{}
	for _, pr := range prs {
		heads[pr.Head] = true
		if n := strings.Count(pr.Body, "| v1.0.0 | v2.0.0 |"); n != 1 {
			t.Errorf("%s body lists %d changes:\n%s", pr.Head, n, pr.Body)
		}
	}
	for i := range 20 {
		b := fmt.Sprintf("bump/svc%02d", i)
		if !heads[b] {
			t.Errorf("no pull request from %s", b)
		}
		if n := e.gitOut("rev-list", "--count", "main.."+b); n != "1" {
			t.Errorf("%s has %s commits", b, n)
		}
	}
}
