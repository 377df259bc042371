package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bump-gitops/bump/internal/forge/giteatest"
)

// giteaRepo is the repository remote_gitea_ scripts bump, under the admin.
const giteaRepo = "manifests"

// giteaRemote is a remote_gitea_ script's real Gitea: the server, and a
// proxy in front of its API that counts the calls bump makes.
type giteaRemote struct {
	srv   *giteatest.Server
	calls *callCounter
	proxy string // URL of the counting proxy, the script's $FORGE_URL
}

// startGitea starts a real Gitea (skipping the script, with the message
// giteatest gives, when none is available), creates the admin's repository
// manifests with main holding the manifests, a label "deps" and a second
// user "alice" with write access, and returns the script's variables.
func startGitea(t testing.TB, r *remote) (map[string]string, error) {
	s := giteatest.Start(t)
	s.CreateRepo(t, giteaRepo)
	if err := pushManifests(t, s); err != nil {
		return nil, err
	}
	s.CreateLabel(t, giteaRepo, "deps")
	s.AddCollaborator(t, giteaRepo, "alice")
	target, err := url.Parse(s.URL)
	if err != nil {
		return nil, err
	}
	calls := &callCounter{n: map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		calls.add(req)
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(front.Close)
	r.gt = &giteaRemote{srv: s, calls: calls, proxy: front.URL}
	r.name = s.User + "/" + giteaRepo
	r.token = s.Token
	return map[string]string{
		"TOKEN":      s.Token,
		"BUMP_TOKEN": s.Token,
		"BUMP_FORGE": "gitea",
		"FORGE_URL":  front.URL,
		"GITEA_URL":  s.URL,
		"GITEA_USER": s.User,
		"REPO":       s.URL + "/" + r.name + ".git",
		"GIT_URL":    s.URL,
	}, nil
}

// pushManifests replaces main's first commit with the manifests.
func pushManifests(t testing.TB, s *giteatest.Server) error {
	dir := filepath.Join(t.TempDir(), "seed")
	giteatest.Git(t, "", "clone", "-q", s.GitURL(giteaRepo), dir)
	for p, content := range manifests {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return err
		}
	}
	giteatest.Git(t, dir, "add", "-A")
	giteatest.Git(t, dir, "-c", "user.name=seed", "-c", "user.email=seed@example.invalid", "commit", "-qm", "manifests")
	giteatest.Git(t, dir, "push", "-q", "origin", "HEAD:refs/heads/main")
	return nil
}

// callCounter counts API calls by "METHOD path", numbers in the path as N.
type callCounter struct {
	mu sync.Mutex
	n  map[string]int
}

var numberSegment = regexp.MustCompile(`/[0-9]+(/|$)`)

func (c *callCounter) add(req *http.Request) {
	p := req.URL.Path
	if !strings.HasPrefix(p, "/api/v1/") {
		return
	}
	p = strings.TrimPrefix(p, "/api/v1")
	p = numberSegment.ReplaceAllString(p, "/N$1")
	c.mu.Lock()
	c.n[req.Method+" "+p]++
	c.mu.Unlock()
}

// snapshot returns the counts and their total, and forgets them on reset.
func (c *callCounter) snapshot(reset bool) (map[string]int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out, total := map[string]int{}, 0
	for k, v := range c.n {
		out[k] = v
		total += v
	}
	if reset {
		c.n = map[string]int{}
	}
	return out, total
}

func printGiteaCalls(ts *testscript.TestScript, g *giteaRemote, reset bool) {
	calls, total := g.calls.snapshot(reset)
	ops := make([]string, 0, len(calls))
	for op := range calls {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		fmt.Fprintf(ts.Stdout(), "%s %d\n", op, calls[op])
	}
	fmt.Fprintf(ts.Stdout(), "total %d\n", total)
}

// giteaPR is a pull request as Gitea's API lists it.
type giteaPR struct {
	Number   int    `json:"number"`
	State    string `json:"state"`
	Title    string `json:"title"`
	Body     string `json:"body"`
	Comments int    `json:"comments"`
	Merged   bool   `json:"merged"`
	Head     struct {
		Ref string `json:"ref"`
	} `json:"head"`
	Base struct {
		Ref string `json:"ref"`
	} `json:"base"`
	Labels    []struct{ Name string } `json:"labels"`
	Assignees []struct {
		Login string `json:"login"`
	} `json:"assignees"`
	Reviewers []struct {
		Login string `json:"login"`
	} `json:"requested_reviewers"`
}

// giteaPRs lists every pull request of the repository, oldest first
// (bounded: the scripts open a handful).
func giteaPRs(ts *testscript.TestScript, g *giteaRemote) []giteaPR {
	var prs []giteaPR
	g.srv.MustAPI(remoteOf(ts).t, http.MethodGet, "/repos/"+g.srv.User+"/"+giteaRepo+"/pulls?state=all&limit=50&sort=oldest", nil, &prs)
	sort.Slice(prs, func(i, j int) bool { return prs[i].Number < prs[j].Number })
	return prs
}

func printGiteaPRs(ts *testscript.TestScript, g *giteaRemote) {
	w := ts.Stdout() // even when there is none: "! stdout ." then checks that
	for _, pr := range giteaPRs(ts, g) {
		fmt.Fprintf(w, "#%d %s %s -> %s: %s\n", pr.Number, pr.State, pr.Head.Ref, pr.Base.Ref, pr.Title)
	}
}

// printGiteaPR prints pull request N (or the one from branch HEAD) as pr
// does for GitHub, with the fields Gitea has.
func printGiteaPR(ts *testscript.TestScript, g *giteaRemote, which, set string) {
	var found []giteaPR
	for _, pr := range giteaPRs(ts, g) {
		if strconv.Itoa(pr.Number) == which || pr.Head.Ref == which {
			found = append(found, pr)
		}
	}
	if len(found) != 1 {
		ts.Fatalf("%d pull requests match %s, want 1", len(found), which)
	}
	pr := found[0]
	if set != "" {
		ts.Setenv(set, strconv.Itoa(pr.Number))
	}
	names := func(n int, at func(int) string) string {
		s := make([]string, n)
		for i := range s {
			s[i] = at(i)
		}
		return strings.Join(s, ",")
	}
	w := ts.Stdout()
	fmt.Fprintf(w, "number: %d\nstate: %s\nhead: %s\nbase: %s\ntitle: %s\n", pr.Number, pr.State, pr.Head.Ref, pr.Base.Ref, pr.Title)
	fmt.Fprintf(w, "labels: %s\nreviewers: %s\nassignees: %s\ncomments: %d\n",
		names(len(pr.Labels), func(i int) string { return pr.Labels[i].Name }),
		names(len(pr.Reviewers), func(i int) string { return pr.Reviewers[i].Login }),
		names(len(pr.Assignees), func(i int) string { return pr.Assignees[i].Login }),
		pr.Comments)
	fmt.Fprintf(w, "body:\n%s\n", pr.Body)
}

// waitMerged polls until the pull request from branch is merged: Gitea
// merges a scheduled auto-merge in the background once its checks pass.
func waitMerged(ts *testscript.TestScript, g *giteaRemote, branch string) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		for _, pr := range giteaPRs(ts, g) {
			if pr.Head.Ref == branch && pr.Merged {
				return
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("the pull request from %s was not merged within 60s", branch)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// giteaHead is BRANCH's commit on the Gitea repository, "" when missing.
func giteaHead(ts *testscript.TestScript, g *giteaRemote, branch string) string {
	var b struct {
		Commit struct {
			ID string `json:"id"`
		} `json:"commit"`
	}
	code := g.srv.API(remoteOf(ts).t, http.MethodGet, "/repos/"+g.srv.User+"/"+giteaRepo+"/branches/"+url.PathEscape(branch), nil, &b)
	switch code {
	case http.StatusOK:
		return b.Commit.ID
	case http.StatusNotFound:
		return ""
	}
	ts.Fatalf("branch %s: status %d", branch, code)
	return ""
}

// gitea protect BRANCH [CONTEXT...] protects BRANCH against pushes (and,
// with contexts, requires those statuses before a merge); gitea status SHA
// STATE posts the status ci/test; gitea merged BRANCH waits (at most 60 s)
// until the pull request from BRANCH is merged; gitea comments N prints
// pull request N's comments, one a line after "- ".
func cmdGitea(ts *testscript.TestScript, neg bool, args []string) {
	r := remoteOf(ts)
	if r.gt == nil || neg || len(args) < 2 {
		ts.Fatalf("usage: gitea protect BRANCH [CONTEXT...] | gitea status SHA STATE | gitea merged BRANCH | gitea comments N (in a remote_gitea_ script)")
	}
	t := r.t
	switch args[0] {
	case "protect":
		r.gt.srv.ProtectBranch(t, giteaRepo, args[1], args[2:]...)
	case "status":
		if len(args) != 3 {
			ts.Fatalf("usage: gitea status SHA STATE")
		}
		r.gt.srv.SetStatus(t, giteaRepo, args[1], args[2])
	case "merged":
		waitMerged(ts, r.gt, args[1])
	case "comments":
		var cs []struct{ Body string }
		r.gt.srv.MustAPI(t, http.MethodGet, "/repos/"+r.gt.srv.User+"/"+giteaRepo+"/issues/"+args[1]+"/comments", nil, &cs)
		for _, c := range cs {
			fmt.Fprintln(ts.Stdout(), "- "+strings.ReplaceAll(c.Body, "\n", " "))
		}
	default:
		ts.Fatalf("gitea: unknown %q", args[0])
	}
}

// giteaNoLeak checks that the token is nowhere in the history of any
// branch on the Gitea repository.
func giteaNoLeak(ts *testscript.TestScript, r *remote) {
	dir := filepath.Join(r.t.TempDir(), "noleak.git")
	giteatest.Git(r.t, "", "clone", "-q", "--mirror", r.gt.srv.GitURL(giteaRepo), dir)
	all := giteatest.Git(r.t, dir, "log", "--all", "-p", "--format=%H%n%an %ae%n%B")
	if strings.Contains(all, r.token) {
		ts.Fatalf("the token is in the pushed history")
	}
}

// giteaFile is PATH as it is at REV (a branch or commit) on the Gitea
// repository.
func giteaFile(ts *testscript.TestScript, r *remote, rev, path string) []byte {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u := r.gt.srv.URL + "/api/v1/repos/" + r.name + "/raw/" + path + "?ref=" + url.QueryEscape(rev)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		ts.Fatalf("file: %v", err)
	}
	req.Header.Set("Authorization", "token "+r.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.Fatalf("file %s:%s: %v", rev, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		ts.Fatalf("file %s:%s: status %d %v", rev, path, resp.StatusCode, err)
	}
	return body
}

// gitOnly wraps a command that drives the test git server, which a
// remote_gitea_ script has not (Gitea is its git server): there it fails
// the script with a message rather than a nil dereference.
func gitOnly(cmd func(ts *testscript.TestScript, neg bool, args []string)) func(ts *testscript.TestScript, neg bool, args []string) {
	return func(ts *testscript.TestScript, neg bool, args []string) {
		if remoteOf(ts).git == nil {
			ts.Fatalf("this command needs the test git server: not in a remote_gitea_ script")
		}
		cmd(ts, neg, args)
	}
}
