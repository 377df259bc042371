package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bump-gitops/bump/internal/forge/forgetest"
	"github.com/bump-gitops/bump/internal/gitrepo/gittest"
)

func TestGitHubApp(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))

	e := &env{t: t, name: "acme/manifests"}
	// The git endpoint honours the installation tokens the API mints.
	e.git = gittest.NewServer(t, gittest.WithCredentials("x-access-token", canary),
		gittest.WithTokenCheck(func(_, pass string) bool { return e.gh.TokenValid(pass) }))
	e.repo = e.git.CreateRepo(t, e.name, manifests)
	e.gh = forgetest.NewGitHub(t, forgetest.GitHubOptions{
		Owner: "acme", Repo: "manifests", Token: canary, AppID: 4711, AppKey: &key.PublicKey,
		BranchExists: func(b string) bool { return e.git.Head(e.name, b) != "" },
	})
	base := newEnv(t)
	e.binDir, e.vars = base.binDir, base.vars
	e.vars = append(e.vars, "BUMP_FORGE_URL="+e.gh.URL(), "BUMP_TOKEN=", "BUMP_GITHUB_APP_ID=4711", "BUMP_GITHUB_APP_KEY="+pemKey)

	r := e.ok(e.bump("--image", "ghcr.io/acme/api:v1.2.3"))
	if !strings.Contains(r.stdout, "opened ") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if len(e.gh.PullRequests()) != 1 || e.git.Head(e.name, "bump/api") == "" {
		t.Fatal("no branch or pull request made with the app's token")
	}
	if strings.Contains(r.stdout+r.stderr, "PRIVATE KEY") {
		t.Error("the app key leaked into the output")
	}

	// A wrong app id is one clear line.
	r = e.run([]string{"BUMP_GITHUB_APP_ID=1"}, "--repo", e.repo, "--image", "ghcr.io/acme/api:v1.2.4")
	if r.code == 0 || !strings.Contains(r.stderr, "github app 1") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("wrong app id: exit %d\n%s", r.code, r.stderr)
	}
}

func TestGitServerFaults(t *testing.T) {
	e := newEnv(t)
	onPush := func(f func(w http.ResponseWriter)) func(w http.ResponseWriter, r *http.Request) bool {
		return func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, "/git-receive-pack") {
				f(w)
				return true
			}
			return false
		}
	}
	faults := map[string]func(w http.ResponseWriter, r *http.Request) bool{
		"500 on push": onPush(func(w http.ResponseWriter) { http.Error(w, "boom", http.StatusInternalServerError) }),
		"dropped connection mid-push": onPush(func(w http.ResponseWriter) {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
		}),
		"503 on clone": func(w http.ResponseWriter, r *http.Request) bool {
			http.Error(w, "boom", http.StatusServiceUnavailable)
			return true
		},
	}
	for name, fault := range faults {
		t.Run(name, func(t *testing.T) {
			defer gittest.RunGit(e.git.RepoDir(e.name), nil, "update-ref", "-d", "refs/heads/fault/api")
			// Once: bump retries and completes.
			var hits atomic.Int32
			e.git.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
				return hits.Load() == 0 && fault(w, r) && hits.Add(1) > 0
			})
			e.ok(e.bump("--image", "ghcr.io/acme/api:v1.2.3", "--no-pr", "--branch", "fault/{{.Name}}"))
			if hits.Load() != 1 || e.git.Head(e.name, "fault/api") == "" {
				t.Fatalf("fault hit %d times; branch %q", hits.Load(), e.git.Head(e.name, "fault/api"))
			}
			gittest.Git(t, e.git.RepoDir(e.name), "update-ref", "-d", "refs/heads/fault/api")

			// Always: bounded retries, then one clear line, and no branch.
			e.git.SetFault(fault)
			r := e.bump("--image", "ghcr.io/acme/api:v1.2.3", "--no-pr", "--branch", "fault/{{.Name}}")
			e.git.SetFault(nil)
			if r.code == 0 {
				t.Fatalf("exit 0 under a lasting fault:\n%s", r.stdout)
			}
			if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 || !strings.Contains(r.stderr, "gave up after 3 tries") {
				t.Errorf("stderr is not one line saying it gave up:\n%s", r.stderr)
			}
			if e.git.Head(e.name, "fault/api") != "" {
				t.Fatal("a failed run left a branch")
			}
			// And a re-run completes.
			e.ok(e.bump("--image", "ghcr.io/acme/api:v1.2.3", "--no-pr", "--branch", "fault/{{.Name}}"))
			if e.git.Head(e.name, "fault/api") == "" {
				t.Fatal("the re-run did not push")
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	e := newEnv(t)
	e.git.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		return true
	})
	start := time.Now()
	r := e.bump("--image", "ghcr.io/acme/api:v1.2.3", "--timeout", "500ms")
	if r.code == 0 || !strings.Contains(r.stderr, "timed out after 500ms") {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("took %v despite --timeout 500ms", d)
	}
}

// In a person's checkout, --commit and --push go further than rewriting
// files: the commit lands on the head branch, the working tree is left as
// it is, and --push sends that branch to origin.
func TestLocalCommitAndPush(t *testing.T) {
	e := newEnv(t)
	work := t.TempDir()
	u := strings.Replace(e.repo, "http://", "http://x-access-token:"+canary+"@", 1)
	gittest.Git(t, "", "clone", "-q", u, work)
	// The checkout's remote must not keep the token for this test's later checks.
	gittest.Git(t, work, "remote", "set-url", "origin", e.repo)
	before := e.git.File(t, e.name, "main", "apps/api/deployment.yaml")

	r := e.ok(e.run(nil, "--dir", work, "--image", "ghcr.io/acme/api:v1.2.3", "--commit"))
	if !strings.Contains(r.stdout, "committed ") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if got := gittest.Git(t, work, "show", "bump/api:apps/api/deployment.yaml"); !strings.Contains(got, "api:v1.2.3 #") {
		t.Errorf("bump/api holds:\n%s", got)
	}
	if n := gittest.Git(t, work, "rev-list", "--count", "main..bump/api"); n != "1" {
		t.Errorf("%s commits on bump/api", n)
	}
	if status := gittest.Git(t, work, "status", "--porcelain"); status != "" {
		t.Errorf("working tree changed: %s", status)
	}
	if e.git.Head(e.name, "bump/api") != "" {
		t.Error("--commit pushed")
	}

	e.ok(e.run(nil, "--dir", work, "--image", "ghcr.io/acme/api:v1.2.3", "--push"))
	if f := e.git.File(t, e.name, "bump/api", "apps/api/deployment.yaml"); !strings.Contains(f, "api:v1.2.3 #") {
		t.Errorf("pushed bump/api holds:\n%s", f)
	}
	if e.git.File(t, e.name, "main", "apps/api/deployment.yaml") != before {
		t.Error("main changed")
	}
	if cfg := gittest.Git(t, work, "config", "--list"); strings.Contains(cfg, canary) {
		t.Error("the token was written into the checkout's config")
	}
}

// SIGINT mid-run stops bump promptly with one line and leaves nothing
// behind: the clone is in memory, so its temporary directory stays empty.
func TestInterrupt(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{}, 1)
	e.git.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		select {
		case started <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return true
	})
	tmp := t.TempDir()
	cmd := exec.Command(filepath.Join(e.binDir, "bump"), "--repo", e.repo, "--image", "ghcr.io/acme/api:v1.2.3")
	cmd.Env = append(append([]string(nil), e.vars...), "TMPDIR="+tmp)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("bump never reached the server")
	}
	begin := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if err == nil {
		t.Fatal("exit 0 after SIGINT")
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("took %v to stop", d)
	}
	if lines := strings.Split(strings.TrimSpace(stderr.String()), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "interrupt") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left behind in TMPDIR: %v", left)
	}
	if e.git.Head(e.name, "bump/api") != "" {
		t.Error("an interrupted run pushed")
	}
}

func TestGitLabMergeRequest(t *testing.T) {
	e := newEnv(t)
	e.name = "acme/platform/manifests"
	e.git = gittest.NewServer(t, gittest.WithCredentials("oauth2", canary))
	e.repo = e.git.CreateRepo(t, e.name, manifests)
	lab := forgetest.NewGitLab(t, forgetest.GitLabOptions{Project: e.name, Token: canary, JobToken: "job-" + canary,
		Users:        map[string]int64{"alice": 3},
		BranchExists: func(b string) bool { return e.git.Head(e.name, b) != "" }})
	e.vars = append(e.vars, "BUMP_FORGE=gitlab", "BUMP_FORGE_URL="+lab.URL())

	r := e.ok(e.bump("--image", "ghcr.io/acme/api:v1.2.3", "--label", "deploy", "--reviewer", "alice",
		"--remove-source-branch", "--squash", "--auto-merge", "--draft"))
	mrs := lab.MergeRequests()
	if len(mrs) != 1 {
		t.Fatalf("%d merge requests", len(mrs))
	}
	mr := mrs[0]
	if !strings.Contains(r.stdout, "opened "+lab.URL()+"/acme/platform/manifests/-/merge_requests/1") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if mr.Source != "bump/api" || mr.Target != "main" || mr.Title != "Draft: chore(deploy): bump ghcr.io/acme/api to v1.2.3" ||
		strings.Join(mr.Labels, ",") != "deploy" || len(mr.ReviewerIDs) != 1 || !mr.RemoveSourceBranch || !mr.Squash || !mr.AutoMerge {
		t.Errorf("merge request: %+v", mr)
	}
	// A re-run with a newer version updates the same merge request.
	lab.ResetCalls()
	r = e.ok(e.bump("--image", "ghcr.io/acme/api:v1.2.4"))
	if !strings.Contains(r.stdout, "updated ") || len(lab.MergeRequests()) != 1 || lab.TotalCalls() > 3 {
		t.Errorf("re-run: %s (%d MRs, calls %v)", r.stdout, len(lab.MergeRequests()), lab.Calls())
	}
	if d := lab.MergeRequests()[0].Description; !strings.Contains(d, "| v1.2.2 | v1.2.4 |") {
		t.Errorf("description:\n%s", d)
	}
	// CI_JOB_TOKEN cannot open merge requests: say which token to create.
	r = e.run([]string{"BUMP_TOKEN=", "CI_JOB_TOKEN=job-" + canary, "GITLAB_CI=true", "CI_SERVER_URL=" + e.repo}, "--repo", e.repo, "--image", "ghcr.io/acme/api:v1.2.5")
	if r.code == 0 || !strings.Contains(r.stderr, "project access token with the api and write_repository scopes") {
		t.Errorf("job token: exit %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "job-") {
		t.Error("the job token leaked")
	}
}

// The manifests repo's own .bump.yaml sets what teams would repeat in
// every pipeline; --env picks an environment; flags override the file.
func TestConfigFileInRepo(t *testing.T) {
	e := newEnv(t)
	e.git.Commit(t, e.name, "main", map[string]string{".bump.yaml": `version: 1
labels: [deploy]
environments:
  web-only:
    paths: [apps/web]
    labels: [deploy, web]
`}, "config")
	e.ok(e.bump("--image", "ghcr.io/acme/api:v1.2.3", "--image", "ghcr.io/acme/web:1.10", "--env", "web-only"))
	prs := e.gh.PullRequests()
	if len(prs) != 1 {
		t.Fatalf("%d pull requests", len(prs))
	}
	if strings.Join(prs[0].Labels, ",") != "deploy,web" {
		t.Errorf("labels %v, want the environment's", prs[0].Labels)
	}
	if d := e.gitOut("diff", "--name-only", "main", prs[0].Head); d != "apps/web/kustomization.yaml" {
		t.Errorf("changed %q, want only the environment's paths", d)
	}

	// A flag wins over the file.
	e2 := newEnv(t)
	e2.git.Commit(t, e2.name, "main", map[string]string{".bump.yaml": "version: 1\nlabels: [from-file]\n"}, "config")
	e2.ok(e2.bump("--image", "ghcr.io/acme/api:v1.2.3", "--label", "from-flag"))
	if l := e2.gh.PullRequests()[0].Labels; strings.Join(l, ",") != "from-flag" {
		t.Errorf("labels %v, want the flag's", l)
	}

	// A broken file is one line naming file and line; nothing is pushed.
	e3 := newEnv(t)
	e3.git.Commit(t, e3.name, "main", map[string]string{".bump.yaml": "version: 1\nlables: [x]\n"}, "config")
	r := e3.bump("--image", "ghcr.io/acme/api:v1.2.3")
	if r.code != 2 || strings.TrimSpace(r.stderr) != `bump: .bump.yaml:2: unknown key "lables"` {
		t.Errorf("exit %d: %s", r.code, r.stderr)
	}
	if e3.git.Head(e3.name, "bump/api") != "" {
		t.Error("a run with a broken config pushed")
	}
	// An unknown environment lists the known ones.
	r = e.bump("--image", "ghcr.io/acme/api:v1.2.3", "--env", "prod")
	if r.code == 0 || !strings.Contains(r.stderr, `no environment "prod" (known: web-only)`) {
		t.Errorf("exit %d: %s", r.code, r.stderr)
	}
}

// recorder is a git host that records every request's credentials.
type recorder struct {
	mu    sync.Mutex
	auths []string
	n     int
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	rc.n++
	for _, h := range []string{"Authorization", "Private-Token", "Job-Token"} {
		if v := r.Header.Get(h); v != "" {
			rc.auths = append(rc.auths, h+": "+v)
		}
	}
	rc.mu.Unlock()
	w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
	http.Error(w, "auth required", http.StatusUnauthorized)
}

func (rc *recorder) seen() (requests int, auths []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.n, append([]string(nil), rc.auths...)
}

// TestAmbientTokenStaysWithCI: a job's token goes to the CI's own server
// only, --dry-run included (the clone still happens); an explicit token
// goes where the user points it.
func TestAmbientTokenStaysWithCI(t *testing.T) {
	e := newEnv(t)
	rc := &recorder{}
	other := httptest.NewServer(rc)
	defer other.Close()
	repo := other.URL + "/acme/manifests.git"
	for _, vars := range [][]string{
		{"BUMP_TOKEN=", "GITLAB_CI=true", "CI_JOB_TOKEN=job-" + canary, "CI_SERVER_URL=https://gitlab.example.com"},
		{"BUMP_TOKEN=", "GITHUB_ACTIONS=true", "GITHUB_TOKEN=" + canary, "GITHUB_SERVER_URL=https://github.com"},
		{"BUMP_TOKEN=", "GITHUB_ACTIONS=true", "GITHUB_TOKEN=" + canary},
	} {
		r := e.run(vars, "--repo", repo, "--image", "ghcr.io/acme/api:v1.2.3", "--dry-run")
		if r.code == 0 {
			t.Errorf("%v: exit 0 against a server that wants credentials", vars)
		}
	}
	n, auths := rc.seen()
	if n == 0 {
		t.Fatal("bump never reached the server")
	}
	if len(auths) > 0 {
		t.Errorf("the CI's token went to another host: %v", auths)
	}
	// The same token given explicitly is sent.
	e.run([]string{"BUMP_TOKEN=" + canary}, "--repo", repo, "--image", "ghcr.io/acme/api:v1.2.3", "--dry-run")
	if _, auths := rc.seen(); len(auths) == 0 {
		t.Error("an explicit token was not sent where the user pointed it")
	}
}
