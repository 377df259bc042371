package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bump-gitops/bump/internal/bump"
	"github.com/bump-gitops/bump/internal/forge"
	"github.com/bump-gitops/bump/internal/gitrepo"
	"github.com/bump-gitops/bump/internal/manifest"
)

func TestSplitList(t *testing.T) {
	got := splitList([]string{"a, b", "c\nd\r\n", " ", "e"})
	if strings.Join(got, "|") != "a|b|c|d|e" {
		t.Errorf("splitList = %q", got)
	}
}

func TestAuthor(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	author := func(flag string, getenv func(string) string, dir string, local bool) (gitrepo.Identity, error) {
		a, _, err := identities(flag, getenv, dir, local)
		return a, err
	}
	id, err := author("Jane Doe <jane@example.com>", env(nil), "", false)
	if err != nil || id.Name != "Jane Doe" || id.Email != "jane@example.com" {
		t.Errorf("flag: %+v %v", id, err)
	}
	if _, err := author("jane@example.com", env(nil), "", false); err == nil {
		t.Error("an author without a name was accepted")
	}
	id, _ = author("", env(map[string]string{"GITHUB_ACTIONS": "true"}), "", false)
	if id.Name != "github-actions[bot]" || !strings.HasSuffix(id.Email, "@users.noreply.github.com") {
		t.Errorf("actions: %+v", id)
	}
	id, _ = author("", env(map[string]string{"GITLAB_CI": "true", "GITLAB_USER_NAME": "Ci User", "GITLAB_USER_EMAIL": "ci@example.com"}), "", false)
	if id.Name != "Ci User" || id.Email != "ci@example.com" {
		t.Errorf("gitlab: %+v", id)
	}
	// Git's variables come before the CI bot; the committer is its own.
	a, c, err := identities("", env(map[string]string{"GITHUB_ACTIONS": "true", "GIT_AUTHOR_NAME": "Ann", "GIT_AUTHOR_EMAIL": "ann@example.com", "GIT_COMMITTER_EMAIL": "bot@example.com"}), "", false)
	if err != nil || a != (gitrepo.Identity{Name: "Ann", Email: "ann@example.com"}) || c != (gitrepo.Identity{Name: "github-actions[bot]", Email: "bot@example.com"}) {
		t.Errorf("git variables: %+v %+v %v", a, c, err)
	}
}

func TestCILinks(t *testing.T) {
	gh := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/api", "GITHUB_SHA": "abc", "GITHUB_RUN_ID": "42"}
	ci := ciLinks(func(k string) string { return gh[k] })
	if ci.SourceURL != "https://github.com/acme/api/commit/abc" || ci.PipelineURL != "https://github.com/acme/api/actions/runs/42" {
		t.Errorf("github: %+v", ci)
	}
	gl := map[string]string{"GITLAB_CI": "true", "CI_PROJECT_URL": "https://gitlab.com/acme/api", "CI_COMMIT_SHA": "abc", "CI_PIPELINE_URL": "https://gitlab.com/acme/api/-/pipelines/7"}
	ci = ciLinks(func(k string) string { return gl[k] })
	if ci.SourceURL != "https://gitlab.com/acme/api/-/commit/abc" || ci.PipelineURL != gl["CI_PIPELINE_URL"] {
		t.Errorf("gitlab: %+v", ci)
	}
}

func TestGitUsernameAndSSH(t *testing.T) {
	if gitUsername(forge.GitHub, false) != "x-access-token" || gitUsername(forge.GitLab, false) != "oauth2" || gitUsername(forge.GitLab, true) != "gitlab-ci-token" {
		t.Error("gitUsername")
	}
	for u, want := range map[string]bool{
		"git@github.com:acme/m.git": true, "ssh://git@host/acme/m.git": true,
		"https://github.com/acme/m.git": false, "/srv/m.git": false, "./m": false, "file:///srv/m.git": false,
	} {
		if sshURL(u) != want {
			t.Errorf("sshURL(%q) = %v", u, !want)
		}
	}
}

func TestDotenvAvoidsFlagVariables(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bump.env")
	o := &bump.Outcome{Changed: true, Branch: "bump/api", Commit: "abc", Pushed: true,
		Changes:     []manifest.Change{{File: "a.yaml", Line: 1, Image: "ghcr.io/acme/api", From: "v1", To: "v2"}},
		PullRequest: &bump.PullRequest{Number: 4, URL: "https://example.com/4", Created: true}}
	if err := writeDotenv(path, o); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	want := "BUMP_CHANGED=true\nBUMP_HEAD_BRANCH=bump/api\nBUMP_COMMIT_SHA=abc\nBUMP_PR_NUMBER=4\nBUMP_PR_URL=https://example.com/4\n" +
		`BUMP_CHANGES=[{"file":"a.yaml","line":1,"image":"ghcr.io/acme/api","from":"v1","to":"v2"}]` + "\n"
	if string(data) != want {
		t.Errorf("dotenv:\n%s\nwant:\n%s", data, want)
	}
	// No key may be one a later bump would read as a flag.
	names := map[string]bool{}
	for _, f := range flags() {
		for _, e := range f.(interface{ GetEnvVars() []string }).GetEnvVars() {
			names[e] = true
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		key, _, _ := strings.Cut(line, "=")
		if names[key] {
			t.Errorf("dotenv key %s is also a flag variable", key)
		}
	}
}

func TestExitCodes(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"bump", "--image", "nginx"}, &out, &errb); code != exitUsage {
		t.Errorf("bad image: exit %d, want %d", code, exitUsage)
	}
	if code := Run(context.Background(), []string{"bump", "--bogus"}, &out, &errb); code != exitUsage {
		t.Errorf("bad flag: exit %d, want %d", code, exitUsage)
	}
	dir := t.TempDir()
	if code := Run(context.Background(), []string{"bump", "--dir", filepath.Join(dir, "nope"), "--image", "nginx:1.1"}, &out, &errb); code != exitUsage {
		t.Errorf("missing --dir: exit %d, want %d", code, exitUsage)
	}
	if code := Run(context.Background(), []string{"bump", "--dir", dir, "--path", "nope", "--image", "nginx:1.1"}, &out, &errb); code != exitUsage {
		t.Errorf("missing --path: exit %d, want %d", code, exitUsage)
	}
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("image: nginx:1.0\n"), 0o644)
	if code := Run(context.Background(), []string{"bump", "--dir", dir, "--image", "nginx:1.1"}, &out, &errb); code != exitOK {
		t.Errorf("good run: exit %d: %s", code, errb.String())
	}
	os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("image: nginx:1.0\n  bad: [\n"), 0o644)
	if code := Run(context.Background(), []string{"bump", "--dir", dir, "--image", "nginx:1.2"}, &out, &errb); code != exitError {
		t.Errorf("malformed file: exit %d, want %d", code, exitError)
	}
}

// CI systems hand unset inputs over as empty variables: they must mean
// "the default", not an invalid value, and an empty BUMP_TOKEN must not
// hide the next token variable.
func TestEmptyVariablesMeanDefault(t *testing.T) {
	for _, k := range []string{"BUMP_OUTPUT", "BUMP_LOG_FORMAT", "BUMP_DIR", "BUMP_MERGE_METHOD", "BUMP_DRY_RUN", "BUMP_TOKEN"} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("image: nginx:1.0\n"), 0o644)
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"bump", "--dir", dir, "--image", "nginx:1.1"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "a.yaml:1  nginx  1.0 → 1.1") {
		t.Errorf("stdout: %s", out.String())
	}
}

// An empty BUMP_* variable does not hide the config file's value.
func TestEmptyVariableLetsConfigApply(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ".bump.yaml"), []byte("version: 1\nskip-invalid: true\npaths: [apps]\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "apps"), 0o755)
	os.WriteFile(filepath.Join(dir, "apps/a.yaml"), []byte("image: nginx:1.0\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "apps/bad.yaml"), []byte("image: nginx:1.0\n  bad: [\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("image: nginx:1.0\n"), 0o644)
	t.Setenv("BUMP_SKIP_INVALID", "")
	t.Setenv("BUMP_PATH", "")
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"bump", "--dir", dir, "--image", "nginx:1.1"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "skipped apps/bad.yaml") || !strings.Contains(out.String(), "apps/a.yaml:1") {
		t.Errorf("the file's skip-invalid did not apply:\nstdout %s\nstderr %s", out.String(), errb.String())
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "b.yaml")); string(b) != "image: nginx:1.0\n" {
		t.Error("the file's paths did not apply")
	}
}
