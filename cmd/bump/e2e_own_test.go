package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bump-gitops/bump/internal/gitrepo/gittest"
)

// bump moves only what it made. These tests run against the real git
// server: a branch holding someone else's commit is refused with one line
// naming it, exit 1, and nothing is pushed.

// oneLineNaming checks a refusal: exit 1, one line naming branch and commit.
func oneLineNaming(t *testing.T, r result, branch, commit, subject string) {
	t.Helper()
	line := strings.TrimSpace(r.stderr)
	if r.code != 1 || strings.Contains(line, "\n") || !strings.Contains(line, branch) ||
		!strings.Contains(line, commit[:12]) || !strings.Contains(line, subject) {
		t.Errorf("exit %d, want 1 and one line naming %s, %s and %q:\n%s", r.code, branch, commit[:12], subject, r.stderr)
	}
}

// `--no-pr --branch release` used to rebuild release as base + the bump
// commit, dropping the release branch's own commits.
func TestForeignBranchNotRebuilt(t *testing.T) {
	e := newEnv(t)
	e.git.Branch(t, e.name, "release", e.git.Head(e.name, "main"))
	fix := e.git.Commit(t, e.name, "release", map[string]string{"README.md": "# hotfix\n"}, "hotfix for 1.2")
	e.git.Commit(t, e.name, "main", map[string]string{"README.md": "# main moves on\n"}, "main moves on")

	r := e.bump("--image", "ghcr.io/acme/api:v1.2.3", "--no-pr", "--branch", "release")
	oneLineNaming(t, r, "release", fix, "hotfix for 1.2")
	if e.git.Head(e.name, "release") != fix {
		t.Fatal("the release branch was moved")
	}
	// Same with a pull request and with --commit-via-api: no API commit either.
	r = e.bump("--image", "ghcr.io/acme/api:v1.2.3", "--branch", "release", "--commit-via-api")
	oneLineNaming(t, r, "release", fix, "hotfix for 1.2")
	if e.git.Head(e.name, "release") != fix || len(e.gh.PullRequests()) != 0 || e.gh.Calls()["graphql/createCommitOnBranch"] != 0 {
		t.Fatalf("the refused run changed something: %v", e.gh.Calls())
	}
}

// A person's commit on top of bump's own branch is theirs: a newer
// version does not rebuild the branch over it.
func TestPersonsCommitOnBumpBranch(t *testing.T) {
	for _, viaAPI := range []bool{false, true} {
		e := newEnv(t)
		args := []string{"--image", "ghcr.io/acme/api:v1.2.3"}
		if viaAPI {
			args = append(args, "--commit-via-api")
		}
		e.ok(e.bump(args...))
		mine := e.git.Commit(t, e.name, "bump/api", map[string]string{"README.md": "# reviewed\n"}, "review fix")
		args[1] = "ghcr.io/acme/api:v1.2.4"
		r := e.bump(args...)
		oneLineNaming(t, r, "bump/api", mine, "review fix")
		if e.git.Head(e.name, "bump/api") != mine {
			t.Fatalf("via API %v: the branch was moved from the person's commit", viaAPI)
		}
	}
}

// The base branch, or the remote's default branch, is never a head branch:
// --branch main in pull-request mode, or a cloned .bump.yaml whose branch
// template renders the base.
func TestHeadBranchIsBase(t *testing.T) {
	e := newEnv(t)
	main := e.git.Head(e.name, "main")
	for _, args := range [][]string{
		{"--branch", "main"},
		{"--branch", "main", "--no-pr"},
		{"--branch", "{{.Base}}"},
	} {
		r := e.bump(append([]string{"--image", "ghcr.io/acme/api:v1.2.3"}, args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, "head branch main is the base branch") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	// The default branch, while the base is another one.
	e.git.Branch(t, e.name, "staging", main)
	r := e.bump("--image", "ghcr.io/acme/api:v1.2.3", "--base", "staging", "--branch", "main")
	if r.code == 0 || !strings.Contains(r.stderr, "head branch main is the remote's default branch") {
		t.Errorf("default branch as head: exit %d\n%s", r.code, r.stderr)
	}
	// From the cloned .bump.yaml.
	cfg := e.git.Commit(t, e.name, "main", map[string]string{".bump.yaml": "version: 1\nbranch: \"{{.Base}}\"\n"}, "config")
	r = e.bump("--image", "ghcr.io/acme/api:v1.2.3")
	if r.code == 0 || !strings.Contains(r.stderr, "head branch main is the base branch") {
		t.Errorf(".bump.yaml branch {{.Base}}: exit %d\n%s", r.code, r.stderr)
	}
	if e.git.Head(e.name, "main") != cfg || e.git.Head(e.name, "staging") != main || len(e.gh.PullRequests()) != 0 {
		t.Fatal("a refused run moved a branch or opened a pull request")
	}
}

// A branch pushed by an earlier bump, whose commit has no trailer, is
// still bump's: the format it has always written is recognised.
func TestLegacyBumpBranchRebuilt(t *testing.T) {
	e := newEnv(t)
	e.git.Branch(t, e.name, "bump/api", e.git.Head(e.name, "main"))
	legacy := "chore(deploy): bump ghcr.io/acme/api to v1.2.3\n\n" +
		"- apps/api/deployment.yaml:11 ghcr.io/acme/api v1.2.2 -> v1.2.3\n\n" +
		"Source: https://github.com/acme/api/commit/abc\nPipeline: https://github.com/acme/api/actions/runs/1"
	e.git.Commit(t, e.name, "bump/api", map[string]string{"apps/api/deployment.yaml": strings.Replace(manifests["apps/api/deployment.yaml"], "api:v1.2.2 #", "api:v1.2.3 #", 1)}, legacy)
	e.git.Commit(t, e.name, "main", map[string]string{"README.md": "# moved on\n"}, "unrelated")
	e.ok(e.bump("--image", "ghcr.io/acme/api:v1.2.4", "--no-pr"))
	if n := e.gitOut("rev-list", "--count", "main..bump/api"); n != "1" {
		t.Fatalf("%s commits on bump/api, want 1", n)
	}
	msg := e.gitOut("log", "-1", "--format=%B", "bump/api")
	if !strings.HasSuffix(msg, "\nBumped-by: bump") {
		t.Errorf("commit message lacks the trailer:\n%s", msg)
	}
	if tr := e.gitOut("log", "-1", "--format=%(trailers:key=Bumped-by,valueonly)", "bump/api"); tr != "bump" {
		t.Errorf("git reads the trailer as %q", tr)
	}
}

// A second identical --no-pr run moves nothing and says so.
func TestSecondRunUpToDate(t *testing.T) {
	e := newEnv(t)
	e.ok(e.bump("--image", "ghcr.io/acme/api:v1.2.3", "--no-pr"))
	head := e.git.Head(e.name, "bump/api")
	r := e.ok(e.bump("--image", "ghcr.io/acme/api:v1.2.3", "--no-pr"))
	if strings.Contains(r.stdout, "\npushed ") || !strings.Contains(r.stdout, "up to date: bump/api already holds this change at "+head[:12]) {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	r = e.ok(e.bump("--image", "ghcr.io/acme/api:v1.2.3", "--no-pr", "--output", "json"))
	var out struct {
		Pushed   *bool `json:"pushed"`
		UpToDate bool  `json:"up_to_date"`
		Commit   string
		Branch   string
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if out.Pushed == nil || *out.Pushed || !out.UpToDate || out.Commit != head || out.Branch != "bump/api" {
		t.Errorf("outcome: %s", r.stdout)
	}
	if e.git.Head(e.name, "bump/api") != head {
		t.Error("the branch moved")
	}
}

// In a checkout, --commit leaves a bump/api branch holding the person's
// own commit alone; on its own branch a second identical --commit makes
// no new commit, and each move is in the reflog.
func TestLocalCommitOwnership(t *testing.T) {
	e := newEnv(t)
	work := t.TempDir()
	u := strings.Replace(e.repo, "http://", "http://x-access-token:"+canary+"@", 1)
	gittest.Git(t, "", "clone", "-q", u, work)
	gittest.Git(t, work, "remote", "set-url", "origin", e.repo)
	gittest.Git(t, work, "-c", "user.name=Me", "-c", "user.email=me@example.com", "checkout", "-q", "-b", "bump/api")
	if err := os.WriteFile(filepath.Join(work, "NOTES.md"), []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gittest.Git(t, work, "add", "NOTES.md")
	gittest.Git(t, work, "-c", "user.name=Me", "-c", "user.email=me@example.com", "commit", "-q", "-m", "my notes")
	mine := gittest.Git(t, work, "rev-parse", "HEAD")
	gittest.Git(t, work, "checkout", "-q", "main")

	r := e.run(nil, "--dir", work, "--image", "ghcr.io/acme/api:v1.2.3", "--commit")
	oneLineNaming(t, r, "bump/api", mine, "my notes")
	if got := gittest.Git(t, work, "rev-parse", "bump/api"); got != mine {
		t.Fatal("--commit moved the person's branch")
	}

	// On a branch of bump's own: one commit, then "up to date".
	e.ok(e.run(nil, "--dir", work, "--image", "ghcr.io/acme/api:v1.2.3", "--commit", "--branch", "bump/api-2"))
	first := gittest.Git(t, work, "rev-parse", "bump/api-2")
	r = e.ok(e.run(nil, "--dir", work, "--image", "ghcr.io/acme/api:v1.2.3", "--commit", "--branch", "bump/api-2"))
	if !strings.Contains(r.stdout, "up to date") || strings.Contains(r.stdout, "committed") {
		t.Errorf("second --commit said:\n%s", r.stdout)
	}
	if got := gittest.Git(t, work, "rev-parse", "bump/api-2"); got != first {
		t.Error("the second identical --commit made a new commit")
	}
	// A newer version moves it, and the reflog holds both moves.
	e.ok(e.run(nil, "--dir", work, "--image", "ghcr.io/acme/api:v1.2.4", "--commit", "--branch", "bump/api-2"))
	reflog := gittest.Git(t, work, "reflog", "show", "--format=%H %gs", "bump/api-2")
	lines := strings.Split(reflog, "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], "bump: chore(deploy): bump ghcr.io/acme/api to v1.2.4") || !strings.HasPrefix(lines[1], first) {
		t.Errorf("reflog of bump/api-2:\n%s", reflog)
	}
}
