package main

import (
	"bytes"
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

// The remote end-to-end scenarios are testscript files
// (testdata/script/remote_*.txtar, servers and commands in remote_test.go).
// The Go tests left here and in e2e_signal_test.go and e2e_ssh_test.go are
// those a script cannot express: many bump processes racing at once
// (a script runs its commands one after another, and its background
// commands cannot be checked one by one), a signal sent while a request
// is held, and an SSH server. They share this harness, which runs the
// real bump binary (this test executable, dispatched by testscript.Main).

// canary is the token the servers accept; run fails a test that prints it.

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

// Racing runs stay in Go: they start bump processes concurrently and check
// each one's exit and the combined result.

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
