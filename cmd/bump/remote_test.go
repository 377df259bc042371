package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bump-gitops/bump/internal/forge/forgetest"
	"github.com/bump-gitops/bump/internal/gitrepo/gittest"
)

// Scripts named remote_*.txtar run against a real git server and the
// spec-validated fake forge, started by setupRemote for each script:
//
//	remote_gitlab_* a GitLab fake, project acme/platform/manifests
//	remote_gitea_*  a real Gitea (giteatest; skipped, saying why, when none
//	                is built), repository $GITEA_USER/manifests, a label deps,
//	                a collaborator alice; $FORGE_URL counts the API calls
//	                and $GITEA_URL is the server itself
//	remote_app_*    a GitHub fake that mints GitHub App installation tokens
//	remote_*        a GitHub fake, repository acme/manifests
//
// The repository starts with the files in manifests. The script sees
// $REPO (clone URL), $GIT_URL (the git server), $FORGE_URL, $TOKEN (the
// canary token, also in $BUMP_TOKEN; apps get $BUMP_GITHUB_APP_ID and
// _KEY instead). The commands in remoteCmds drive and inspect both servers:
//
//	run [-exit=N] bump ...   bump, failing on the token in its output
//	oneline [REGEX]          stderr is one line (matching REGEX)
//	head, file, gitsrv       a branch's commit, a file at a revision, git
//	srvcommit, srvbranch     another pipeline's or a person's moves
//	srvclone, capture        a person's checkout; remember a value
//	prs, pr, mrs, calls      pull/merge requests and API calls, as text
//	fault, gitfault          forge and git server faults
//	recorder, noleak         credentials sent elsewhere; token in history
//	gitea protect|comments   protect a branch, a pull request's comments

// remote is one script's servers.
type remote struct {
	git  *gittest.Server
	gh   *forgetest.GitHub // nil for GitLab scripts
	lab  *forgetest.GitLab // nil for GitHub scripts
	name string            // repository path on the git server
	hits *atomic.Int32     // how often the last gitfault -once hit
	t    testing.TB        // the script's test, for the gittest helpers
	rec  *recorder         // started by "recorder start"
	gt   *giteaRemote      // remote_gitea_ scripts only (then git, gh, lab are nil)
	// token is the token the servers accept, which run checks bump never
	// prints: the canary, or the real Gitea's.
	token string
}

type remoteKey struct{}

func setupRemote(env *testscript.Env) error {
	script := strings.TrimPrefix(filepath.Base(env.WorkDir), "script-")
	if !strings.HasPrefix(script, "remote_") {
		return nil
	}
	t, ok := env.T().(testing.TB)
	if !ok {
		return errors.New("remote scripts need a testing.TB")
	}
	r := &remote{name: "acme/manifests", t: t, token: canary}
	vars := map[string]string{
		"TOKEN":       canary,
		"BUMP_TOKEN":  canary,
		"BUMP_FORGE":  "github",
		"BUMP_AUTHOR": "Bump Bot <bot@example.com>",
	}
	switch {
	case strings.HasPrefix(script, "remote_gitea_"):
		// A real Gitea; giteatest skips the script, saying why, when none
		// is built and BUMP_GITEA_TESTS is not 1.
		gv, err := startGitea(t, r)
		if err != nil {
			return err
		}
		for k, v := range gv {
			vars[k] = v
		}
	case strings.HasPrefix(script, "remote_gitlab_"):
		r.name = "acme/platform/manifests"
		r.git = gittest.NewServer(t, gittest.WithCredentials("oauth2", canary))
		r.lab = forgetest.NewGitLab(t, forgetest.GitLabOptions{Project: r.name, Token: canary, JobToken: "job-" + canary,
			Users:        map[string]int64{"alice": 3},
			BranchExists: func(b string) bool { return r.git.Head(r.name, b) != "" }})
		vars["BUMP_FORGE"], vars["FORGE_URL"] = "gitlab", r.lab.URL()
	case strings.HasPrefix(script, "remote_app_"):
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return err
		}
		// The git endpoint honours the installation tokens the API mints.
		r.git = gittest.NewServer(t, gittest.WithCredentials("x-access-token", canary),
			gittest.WithTokenCheck(func(_, pass string) bool { return r.gh.TokenValid(pass) }))
		r.gh = forgetest.NewGitHub(t, forgetest.GitHubOptions{
			Owner: "acme", Repo: "manifests", Token: canary, AppID: 4711, AppKey: &key.PublicKey,
			BranchExists: func(b string) bool { return r.git.Head(r.name, b) != "" },
		})
		vars["FORGE_URL"], vars["BUMP_TOKEN"], vars["BUMP_GITHUB_APP_ID"] = r.gh.URL(), "", "4711"
		vars["BUMP_GITHUB_APP_KEY"] = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	default:
		r.git = gittest.NewServer(t, gittest.WithCredentials("x-access-token", canary))
		r.gh = forgetest.NewGitHub(t, forgetest.GitHubOptions{
			Owner: "acme", Repo: "manifests", Token: canary,
			BranchExists: func(b string) bool { return r.git.Head(r.name, b) != "" },
			Git:          &forgetest.BareRepo{Dir: r.git.RepoDir(r.name)},
		})
		vars["FORGE_URL"] = r.gh.URL()
	}
	if r.git != nil {
		vars["REPO"] = r.git.CreateRepo(t, r.name, manifests)
		vars["GIT_URL"] = r.git.URL
	}
	vars["BUMP_FORGE_URL"] = vars["FORGE_URL"]
	home := filepath.Join(env.WorkDir, ".home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	for _, kv := range gittest.Env(home) {
		k, v, _ := strings.Cut(kv, "=")
		if k != "PATH" {
			env.Setenv(k, v)
		}
	}
	for k, v := range vars {
		env.Setenv(k, v)
	}
	env.Values[remoteKey{}] = r
	return nil
}

func remoteOf(ts *testscript.TestScript) *remote {
	r, _ := ts.Value(remoteKey{}).(*remote)
	if r == nil {
		ts.Fatalf("no servers: the script's name must start with remote_")
	}
	return r
}

// remoteCmds are the script commands for remote scenarios.
var remoteCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"run":       cmdRun,
	"gitsrv":    gitOnly(cmdGitSrv),
	"head":      cmdHead,
	"file":      cmdFile,
	"srvcommit": gitOnly(cmdSrvCommit),
	"srvbranch": gitOnly(cmdSrvBranch),
	"prs":       cmdPRs,
	"pr":        cmdPR,
	"mrs":       cmdMRs,
	"calls":     cmdCalls,
	"fault":     cmdFault,
	"gitfault":  gitOnly(cmdGitFault),
	"noleak":    cmdNoLeak,
	"oneline":   cmdOneLine,
	"srvclone":  gitOnly(cmdSrvClone),
	"recorder":  cmdRecorder,
	"capture":   cmdCapture,
	"gitea":     cmdGitea,
}

// capture VAR stores the last command's stdout, trimmed, in VAR (and its
// first 12 characters in VAR_SHORT), to compare a later state with it.
func cmdCapture(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: capture VAR")
	}
	out := strings.TrimSpace(ts.ReadFile("stdout"))
	if out == "" {
		ts.Fatalf("capture: stdout is empty")
	}
	setCommit(ts, args[0], out)
}

// setCommit stores a commit in VAR and its 12-character short form, as
// bump's messages name it, in VAR_SHORT.
func setCommit(ts *testscript.TestScript, name, sha string) {
	if name == "" {
		return
	}
	ts.Setenv(name, sha)
	ts.Setenv(name+"_SHORT", sha[:min(12, len(sha))])
}

// srvclone DIR clones the server's repository into DIR, a person's
// checkout, with origin pointing at $REPO (no credentials in its config).
func cmdSrvClone(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: srvclone DIR")
	}
	r := remoteOf(ts)
	dir := ts.MkAbs(args[0])
	if _, err := gittest.RunGit("", nil, "clone", "-q", r.git.RepoDir(r.name), dir); err != nil {
		ts.Fatalf("clone: %v", err)
	}
	if _, err := gittest.RunGit(dir, nil, "remote", "set-url", "origin", r.git.RepoURL(r.name)); err != nil {
		ts.Fatalf("set origin: %v", err)
	}
}

// recorder is a git host that records every request's credentials and
// answers 401.
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
			rc.auths = append(rc.auths, h)
		}
	}
	rc.mu.Unlock()
	w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
	http.Error(w, "auth required", http.StatusUnauthorized)
}

// recorder start sets $RECORDER to the URL of a git host that records the
// credentials sent to it; recorder report prints "requests N" and one
// "auth HEADER" line per credential seen (never the credential itself).
func cmdRecorder(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: recorder start|report")
	}
	r := remoteOf(ts)
	switch args[0] {
	case "start":
		r.rec = &recorder{}
		srv := httptest.NewServer(r.rec)
		ts.Defer(srv.Close)
		ts.Setenv("RECORDER", srv.URL)
	case "report":
		if r.rec == nil {
			ts.Fatalf("recorder report: no recorder start before")
		}
		r.rec.mu.Lock()
		defer r.rec.mu.Unlock()
		fmt.Fprintf(ts.Stdout(), "requests %d\n", r.rec.n)
		for _, a := range r.rec.auths {
			fmt.Fprintf(ts.Stdout(), "auth %s\n", a)
		}
	default:
		ts.Fatalf("usage: recorder start|report")
	}
}

// oneline [REGEX] checks that the last command's stderr is exactly one
// line (surrounding space aside) and, when given, that it matches REGEX.
func cmdOneLine(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) > 1 || neg {
		ts.Fatalf("usage: oneline [REGEX]")
	}
	msg := strings.TrimSpace(ts.ReadFile("stderr"))
	if msg == "" || strings.Contains(msg, "\n") {
		ts.Fatalf("stderr is not one line:\n%s", msg)
	}
	if len(args) == 1 {
		re, err := regexp.Compile(args[0])
		if err != nil {
			ts.Fatalf("oneline: %v", err)
		}
		if !re.MatchString(msg) {
			ts.Fatalf("stderr does not match %q:\n%s", args[0], msg)
		}
	}
}

// flags parses a command's leading flags, failing the script on an error.
func flags(ts *testscript.TestScript, name string, args []string, define func(*flag.FlagSet)) []string {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// Not ts.Stderr: that would replace the output run just recorded.
	fs.SetOutput(io.Discard)
	define(fs)
	if err := fs.Parse(args); err != nil {
		ts.Fatalf("%s: %v", name, err)
	}
	return fs.Args()
}

// run [-exit=N] [-min=D] [-max=D] bump args... runs bump, as exec does, and checks that the token appears in neither stdout nor stderr,
// whatever the outcome. -exit checks the exact exit code; -min and -max
// bound how long the run took (a retry that waits, a timeout that bites).
func cmdRun(ts *testscript.TestScript, neg bool, args []string) {
	code := -1
	var lo, hi time.Duration
	args = flags(ts, "run", args, func(fs *flag.FlagSet) {
		fs.IntVar(&code, "exit", -1, "exact exit code")
		fs.DurationVar(&lo, "min", 0, "least duration")
		fs.DurationVar(&hi, "max", 0, "most duration")
	})
	if len(args) == 0 || args[0] != "bump" {
		ts.Fatalf("usage: run [-exit=N] [-min=D] [-max=D] bump args...")
	}
	start := time.Now()
	err := ts.Exec(args[0], args[1:]...)
	took := time.Since(start)
	tokens := []string{canary}
	if r, _ := ts.Value(remoteKey{}).(*remote); r != nil && r.token != canary {
		tokens = append(tokens, r.token)
	}
	for _, f := range []string{"stdout", "stderr"} {
		if out := ts.ReadFile(f); slices.ContainsFunc(tokens, func(tok string) bool { return strings.Contains(out, tok) }) {
			ts.Fatalf("the token leaked into %s", f)
		}
	}
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("run bump: %v", err)
	}
	switch {
	case code >= 0 && got != code:
		ts.Fatalf("exit %d, want %d", got, code)
	case neg && got == 0:
		ts.Fatalf("unexpected success")
	case !neg && got != 0:
		ts.Fatalf("exit %d", got)
	}
	if lo > 0 && took < lo {
		ts.Fatalf("took %v, want at least %v", took, lo)
	}
	if hi > 0 && took > hi {
		ts.Fatalf("took %v, want at most %v", took, hi)
	}
}

// gitsrv args... runs git in the server's bare repository; its output
// (trimmed) is the command's stdout.
func cmdGitSrv(ts *testscript.TestScript, neg bool, args []string) {
	r := remoteOf(ts)
	out, err := gittest.RunGit(r.git.RepoDir(r.name), nil, args...)
	if (err != nil) != neg {
		ts.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	fmt.Fprintln(ts.Stdout(), out)
}

// head [-set=VAR] [-is=SHA] BRANCH checks that BRANCH exists on the server
// (with !, that it does not), prints its commit, and stores it in VAR or
// compares it with SHA (VAR_SHORT holds its first 12 characters).
func cmdHead(ts *testscript.TestScript, neg bool, args []string) {
	var set, is string
	args = flags(ts, "head", args, func(fs *flag.FlagSet) {
		fs.StringVar(&set, "set", "", "variable to store the commit in")
		fs.StringVar(&is, "is", "", "commit the branch must point at")
	})
	if len(args) != 1 {
		ts.Fatalf("usage: head [-set=VAR] [-is=SHA] BRANCH")
	}
	r := remoteOf(ts)
	var h string
	if r.gt != nil {
		h = giteaHead(ts, r.gt, args[0])
	} else {
		h = r.git.Head(r.name, args[0])
	}
	if neg {
		if h != "" {
			ts.Fatalf("branch %s exists at %s", args[0], h)
		}
		return
	}
	switch {
	case h == "":
		ts.Fatalf("no branch %s", args[0])
	case is != "" && h != is:
		ts.Fatalf("branch %s is at %s, want %s", args[0], h, is)
	}
	setCommit(ts, set, h)
	fmt.Fprintln(ts.Stdout(), h)
}

// file REV PATH prints a file as it is at REV on the server.
func cmdFile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: file REV PATH")
	}
	r := remoteOf(ts)
	if r.gt != nil {
		_, _ = ts.Stdout().Write(giteaFile(ts, r, args[0], args[1]))
		return
	}
	cmd := exec.Command("git", "cat-file", "blob", args[0]+":"+args[1])
	cmd.Dir, cmd.Env = r.git.RepoDir(r.name), gittest.Env(os.TempDir())
	out, err := cmd.Output()
	if err != nil {
		ts.Fatalf("show %s:%s: %v", args[0], args[1], err)
	}
	_, _ = ts.Stdout().Write(out)
}

// srvcommit [-set=VAR] [-m MSG | -F FILE] BRANCH PATH=WORKFILE... commits
// files of the work directory on BRANCH of the server, as another
// pipeline or a person would; -set stores the commit as head does.
func cmdSrvCommit(ts *testscript.TestScript, neg bool, args []string) {
	var set, msg, msgFile string
	args = flags(ts, "srvcommit", args, func(fs *flag.FlagSet) {
		fs.StringVar(&set, "set", "", "variable to store the commit in")
		fs.StringVar(&msg, "m", "", "commit message")
		fs.StringVar(&msgFile, "F", "", "file holding the commit message")
	})
	if len(args) < 1 || neg {
		ts.Fatalf("usage: srvcommit [-set=VAR] [-m MSG | -F FILE] BRANCH PATH=WORKFILE...")
	}
	if msgFile != "" {
		msg = strings.TrimSuffix(ts.ReadFile(msgFile), "\n")
	}
	files := map[string]string{}
	for _, a := range args[1:] {
		p, src, ok := strings.Cut(a, "=")
		if !ok {
			ts.Fatalf("srvcommit: %q is not PATH=WORKFILE", a)
		}
		files[p] = ts.ReadFile(src)
	}
	r := remoteOf(ts)
	h := r.git.Commit(r.t, r.name, args[0], files, msg)
	setCommit(ts, set, h)
	fmt.Fprintln(ts.Stdout(), h)
}

// srvbranch BRANCH REV creates or moves BRANCH on the server to REV.
func cmdSrvBranch(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: srvbranch BRANCH REV")
	}
	r := remoteOf(ts)
	if _, err := gittest.RunGit(r.git.RepoDir(r.name), nil, "update-ref", "refs/heads/"+args[0], args[1]); err != nil {
		ts.Fatalf("srvbranch: %v", err)
	}
}

func githubOf(ts *testscript.TestScript) *forgetest.GitHub {
	r := remoteOf(ts)
	if r.gh == nil {
		ts.Fatalf("not a GitHub script")
	}
	return r.gh
}

// prs prints one line per pull request of the fake GitHub:
// "#N STATE HEAD -> BASE: TITLE".
func cmdPRs(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 0 || neg {
		ts.Fatalf("usage: prs")
	}
	if r := remoteOf(ts); r.gt != nil {
		printGiteaPRs(ts, r.gt)
		return
	}
	w := ts.Stdout() // even when there is none: "! stdout ." then checks that
	for _, pr := range githubOf(ts).PullRequests() {
		fmt.Fprintf(w, "#%d %s %s -> %s: %s\n", pr.Number, pr.State, pr.Head, pr.Base, pr.Title)
	}
}

// pr [-set=VAR] N|HEAD prints pull request N (or the one from branch HEAD)
// field by field, one "field: value" a line, lists comma-separated, then
// "body:" and the body's lines; -set stores its number in VAR.
func cmdPR(ts *testscript.TestScript, neg bool, args []string) {
	var set string
	args = flags(ts, "pr", args, func(fs *flag.FlagSet) {
		fs.StringVar(&set, "set", "", "variable to store the number in")
	})
	if len(args) != 1 || neg {
		ts.Fatalf("usage: pr [-set=VAR] NUMBER|HEAD")
	}
	if r := remoteOf(ts); r.gt != nil {
		printGiteaPR(ts, r.gt, args[0], set)
		return
	}
	var found []forgetest.GitHubPR
	for _, pr := range githubOf(ts).PullRequests() {
		if strconv.Itoa(pr.Number) == args[0] || pr.Head == args[0] {
			found = append(found, pr)
		}
	}
	if len(found) != 1 {
		ts.Fatalf("%d pull requests match %s, want 1", len(found), args[0])
	}
	pr := found[0]
	if set != "" {
		ts.Setenv(set, strconv.Itoa(pr.Number))
	}
	w := ts.Stdout()
	fmt.Fprintf(w, "number: %d\nstate: %s\nhead: %s\nbase: %s\ntitle: %s\ndraft: %t\n", pr.Number, pr.State, pr.Head, pr.Base, pr.Title, pr.Draft)
	fmt.Fprintf(w, "labels: %s\nreviewers: %s\nteam_reviewers: %s\nassignees: %s\nauto_merge: %s\ncomments: %d\n",
		strings.Join(pr.Labels, ","), strings.Join(pr.Reviewers, ","), strings.Join(pr.TeamReviewers, ","),
		strings.Join(pr.Assignees, ","), pr.AutoMerge, len(pr.Comments))
	fmt.Fprintf(w, "body:\n%s\n", pr.Body)
}

// mrs prints each merge request of the fake GitLab field by field, one
// "field: value" a line, then "description:" and its lines.
func cmdMRs(ts *testscript.TestScript, neg bool, args []string) {
	r := remoteOf(ts)
	if r.lab == nil || len(args) != 0 || neg {
		ts.Fatalf("usage: mrs (in a remote_gitlab_ script)")
	}
	w := ts.Stdout()
	for _, mr := range r.lab.MergeRequests() {
		fmt.Fprintf(w, "iid: %d\nstate: %s\nsource: %s\ntarget: %s\ntitle: %s\nlabels: %s\nreviewers: %d\n",
			mr.IID, mr.State, mr.Source, mr.Target, mr.Title, strings.Join(mr.Labels, ","), len(mr.ReviewerIDs))
		fmt.Fprintf(w, "remove_source_branch: %t\nsquash: %t\nauto_merge: %t\ndescription:\n%s\n", mr.RemoveSourceBranch, mr.Squash, mr.AutoMerge, mr.Description)
	}
}

// calls [-reset] prints the forge API calls so far, "OPERATION N" a line
// sorted, then "total N"; -reset then forgets them.
func cmdCalls(ts *testscript.TestScript, neg bool, args []string) {
	var reset bool
	args = flags(ts, "calls", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&reset, "reset", false, "forget the calls after printing them")
	})
	if len(args) != 0 || neg {
		ts.Fatalf("usage: calls [-reset]")
	}
	r := remoteOf(ts)
	if r.gt != nil {
		printGiteaCalls(ts, r.gt, reset)
		return
	}
	var calls map[string]int
	var total int
	if r.gh != nil {
		calls, total = r.gh.Calls(), r.gh.TotalCalls()
	} else {
		calls, total = r.lab.Calls(), r.lab.TotalCalls()
	}
	ops := make([]string, 0, len(calls))
	for op := range calls {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		fmt.Fprintf(ts.Stdout(), "%s %d\n", op, calls[op])
	}
	fmt.Fprintf(ts.Stdout(), "total %d\n", total)
	if reset && r.gh != nil {
		r.gh.ResetCalls()
	} else if reset {
		r.lab.ResetCalls()
	}
}

// fault [-retry-after=S] [-body=B] OPERATION STATUS makes the fake forge
// answer the next OPERATION call with STATUS.
func cmdFault(ts *testscript.TestScript, neg bool, args []string) {
	var retry, body string
	args = flags(ts, "fault", args, func(fs *flag.FlagSet) {
		fs.StringVar(&retry, "retry-after", "", "Retry-After header")
		fs.StringVar(&body, "body", "", "response body")
	})
	if len(args) != 2 || neg {
		ts.Fatalf("usage: fault [-retry-after=S] [-body=B] OPERATION STATUS")
	}
	status, err := strconv.Atoi(args[1])
	if err != nil {
		ts.Fatalf("fault: status %q: %v", args[1], err)
	}
	f := forgetest.Fault{Operation: args[0], Status: status, Body: body}
	if retry != "" {
		f.Header = http.Header{"Retry-After": {retry}}
	}
	githubOf(ts).InjectFault(f)
}

// gitfault [-once] KIND makes the git server fail: push-500 (a 500 on
// push), push-drop (the connection dropped mid-push), clone-503 (a 503 on
// every request), stall (every request held until the client gives up,
// at most 5s) or off. With -once, only the first request it hits, and
// "gitfault hits N" then checks that it hit N times.
func cmdGitFault(ts *testscript.TestScript, neg bool, args []string) {
	var once bool
	args = flags(ts, "gitfault", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&once, "once", false, "fail only the first request it hits")
	})
	if len(args) == 2 && args[0] == "hits" && !neg {
		checkHits(ts, args[1])
		return
	}
	if len(args) != 1 || neg {
		ts.Fatalf("usage: gitfault [-once] push-500|push-drop|clone-503|stall|off, or gitfault hits N")
	}
	onPush := func(f func(w http.ResponseWriter)) gittest.Fault {
		return func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, "/git-receive-pack") {
				f(w)
				return true
			}
			return false
		}
	}
	var fault gittest.Fault
	switch args[0] {
	case "push-500":
		fault = onPush(func(w http.ResponseWriter) { http.Error(w, "boom", http.StatusInternalServerError) })
	case "push-drop":
		fault = onPush(func(w http.ResponseWriter) {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
		})
	case "clone-503":
		fault = func(w http.ResponseWriter, r *http.Request) bool {
			http.Error(w, "boom", http.StatusServiceUnavailable)
			return true
		}
	case "stall":
		fault = func(w http.ResponseWriter, r *http.Request) bool {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return true
		}
	case "off":
	default:
		ts.Fatalf("gitfault: unknown kind %q", args[0])
	}
	r := remoteOf(ts)
	if fault != nil && once {
		var hits atomic.Int32
		inner := fault
		fault = func(w http.ResponseWriter, r *http.Request) bool {
			return hits.Load() == 0 && inner(w, r) && hits.Add(1) > 0
		}
		r.hits = &hits
	}
	r.git.SetFault(fault)
}

// noleak checks that the token is nowhere in the repository's history or
// config on the server.
func cmdNoLeak(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 0 || neg {
		ts.Fatalf("usage: noleak")
	}
	r := remoteOf(ts)
	if r.gt != nil {
		giteaNoLeak(ts, r)
		return
	}
	all, err := gittest.RunGit(r.git.RepoDir(r.name), nil, "log", "--all", "-p", "--format=%H%n%an %ae%n%B")
	if err != nil {
		ts.Fatalf("git log: %v", err)
	}
	if strings.Contains(all, canary) {
		ts.Fatalf("the token is in the pushed history")
	}
	cfg, _ := os.ReadFile(filepath.Join(r.git.RepoDir(r.name), "config"))
	if strings.Contains(string(cfg), canary) {
		ts.Fatalf("the token is in the repository config")
	}
}

func checkHits(ts *testscript.TestScript, want string) {
	r := remoteOf(ts)
	if r.hits == nil {
		ts.Fatalf("gitfault hits: no gitfault -once before")
	}
	if got := strconv.Itoa(int(r.hits.Load())); got != want {
		ts.Fatalf("the fault hit %s times, want %s", got, want)
	}
}
