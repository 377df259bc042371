package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bump-gitops/bump/internal/bump"
	"github.com/bump-gitops/bump/internal/manifest"
	"sigs.k8s.io/yaml"
)

// root is the module root, where action.yml and the CI templates live.
const root = "../.."

func getenvOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// parseGitHubOutput reads a $GITHUB_OUTPUT file the way the runner does:
// name=value lines and name<<DELIM heredocs.
func parseGitHubOutput(t *testing.T, data string) map[string]string {
	t.Helper()
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		if name, delim, ok := strings.Cut(line, "<<"); ok {
			var val []string
			closed := false
			for sc.Scan() {
				if sc.Text() == delim {
					closed = true
					break
				}
				val = append(val, sc.Text())
			}
			if !closed {
				t.Fatalf("output %s: delimiter %q never closed", name, delim)
			}
			if _, dup := out[name]; dup {
				t.Fatalf("output %s written twice", name)
			}
			out[name] = strings.Join(val, "\n")
			continue
		}
		name, val, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("malformed output line %q", line)
		}
		out[name] = val
	}
	return out
}

func sampleOutcome() *bump.Outcome {
	return &bump.Outcome{
		Changed: true,
		Changes: []manifest.Change{
			{File: "apps/a|b`c.yaml", Line: 7, Image: "ghcr.io/acme/api", From: "v1", To: "v2"},
			{File: "base/kustomization.yaml", Line: 11, Image: "ghcr.io/acme/api", From: "v1", To: "v2"},
		},
		Skipped:     []manifest.Skip{{File: "broken.yaml", Reason: "yaml: line 3: bad\nindent 100%"}},
		NotFound:    []string{"ghcr.io/acme/apii"},
		Commit:      "0123456789abcdef0123456789abcdef01234567",
		Branch:      "bump/api",
		Pushed:      true,
		PullRequest: &bump.PullRequest{Number: 42, URL: "https://github.example/acme/manifests/pull/42", Created: true},
	}
}

func TestGitHubActionsOutputs(t *testing.T) {
	dir := t.TempDir()
	outPath, sumPath := filepath.Join(dir, "output"), filepath.Join(dir, "summary")
	var stdout bytes.Buffer
	o := sampleOutcome()
	err := githubActions(getenvOf(map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": outPath, "GITHUB_STEP_SUMMARY": sumPath,
	}), &stdout, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	got := parseGitHubOutput(t, string(data))
	want := map[string]string{
		"changed": "true", "branch": "bump/api", "commit": o.Commit,
		"pr-number": "42", "pr-url": o.PullRequest.URL,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("output %s = %q, want %q", k, got[k], v)
		}
	}
	var changes []manifest.Change
	if err := json.Unmarshal([]byte(got["changes"]), &changes); err != nil {
		t.Fatalf("changes output is not JSON: %v\n%s", err, got["changes"])
	}
	if len(changes) != 2 || changes[0] != o.Changes[0] {
		t.Errorf("changes round trip: %+v", changes)
	}

	sum, err := os.ReadFile(sumPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"| apps/a\\|b\\`c.yaml:7 | ghcr.io/acme/api | v1 | v2 |", "[#42](" + o.PullRequest.URL + ")", "Opened"} {
		if !strings.Contains(string(sum), s) {
			t.Errorf("summary lacks %q:\n%s", s, sum)
		}
	}
	// Each table row must have exactly 4 unescaped cell separators + edges.
	for _, line := range strings.Split(string(sum), "\n") {
		if strings.HasPrefix(line, "| apps/") {
			if n := len(regexp.MustCompile(`(^|[^\\])\|`).FindAllString(line, -1)); n != 5 {
				t.Errorf("row has %d unescaped pipes: %q", n, line)
			}
		}
	}
	// Warnings are one line each, with the runner's escapes.
	for _, want := range []string{"::warning title=bump skipped::", "::warning title=bump found nothing::no reference to ghcr.io/acme/apii found"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("no annotation %q in %q", want, stdout.String())
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if !strings.HasPrefix(line, "::") {
			t.Errorf("annotation split across lines: %q", line)
		}
	}
	if !strings.Contains(stdout.String(), "%0Aindent 100%25") {
		t.Errorf("annotation data not escaped: %q", stdout.String())
	}

	// A second step appends rather than clobbers.
	if err := githubActions(getenvOf(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": sumPath}), &stdout, o, nil); err != nil {
		t.Fatal(err)
	}
	sum2, _ := os.ReadFile(sumPath)
	if len(sum2) != 2*len(sum) {
		t.Errorf("summary not appended: %d then %d bytes", len(sum), len(sum2))
	}
}

func TestGitHubOutputsCannotBeInjected(t *testing.T) {
	o := &bump.Outcome{Branch: "x\nchanged=false\nevil<<EOF", Changes: []manifest.Change{}}
	got := parseGitHubOutput(t, githubOutputs(o))
	if got["changed"] != "false" || got["branch"] != o.Branch {
		t.Errorf("value escaped its entry: %q", got)
	}
	if _, ok := got["evil"]; ok {
		t.Error("injected an output")
	}
	if got["changes"] != "[]" {
		t.Errorf("changes = %q, want []", got["changes"])
	}
}

func TestGitHubActionsError(t *testing.T) {
	var stdout bytes.Buffer
	outPath := filepath.Join(t.TempDir(), "output")
	err := githubActions(getenvOf(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": outPath}),
		&stdout, nil, errors.New("push bump/api: 50% done\nrejected"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := stdout.String(), "::error title=bump::push bump/api: 50%25 done"; !strings.HasPrefix(got, want) {
		t.Errorf("got %q, want prefix %q", got, want)
	}
	if strings.Count(stdout.String(), "\n") != 1 {
		t.Errorf("error annotation not one line: %q", stdout.String())
	}
	if _, err := os.Stat(outPath); !os.IsNotExist(err) {
		t.Errorf("outputs written without an outcome: %v", err)
	}
}

func TestGitHubActionsOffOutsideActions(t *testing.T) {
	var stdout bytes.Buffer
	outPath := filepath.Join(t.TempDir(), "output")
	if err := githubActions(getenvOf(map[string]string{"GITHUB_OUTPUT": outPath}), &stdout, sampleOutcome(), errors.New("x")); err != nil {
		t.Fatal(err)
	}
	if stdout.Len() != 0 {
		t.Errorf("wrote annotations outside Actions: %q", stdout.String())
	}
	if _, err := os.Stat(outPath); !os.IsNotExist(err) {
		t.Error("wrote outputs outside Actions")
	}
}

func TestGitHubActionsUnwritableOutput(t *testing.T) {
	err := githubActions(getenvOf(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": filepath.Join(t.TempDir(), "no", "such")}),
		&bytes.Buffer{}, sampleOutcome(), nil)
	if err == nil || !strings.Contains(err.Error(), "GITHUB_OUTPUT") {
		t.Errorf("err = %v, want a GITHUB_OUTPUT error", err)
	}
}

// parseDotenv reads a file as GitLab's dotenv report parser does: KEY=VALUE
// lines, no quoting, no multi-line values.
func parseDotenv(t *testing.T, data []byte) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || !regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`).MatchString(k) {
			t.Fatalf("bad dotenv line %q", line)
		}
		m[k] = v
	}
	return m
}

func TestWriteDotenv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bump.env")
	o := sampleOutcome()
	o.Changes[0].File = "apps/new\nline.yaml"
	if err := writeDotenv(path, o); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := parseDotenv(t, data)
	want := map[string]string{
		"BUMP_CHANGED": "true", "BUMP_HEAD_BRANCH": "bump/api", "BUMP_COMMIT_SHA": o.Commit,
		"BUMP_PR_NUMBER": "42", "BUMP_PR_URL": o.PullRequest.URL,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != 6 {
		t.Errorf("got %d variables, want 6: %v", len(got), got)
	}
	var changes []manifest.Change
	if err := json.Unmarshal([]byte(got["BUMP_CHANGES"]), &changes); err != nil {
		t.Fatalf("BUMP_CHANGES: %v", err)
	}
	if changes[0].File != "apps/new\nline.yaml" {
		t.Errorf("file name did not survive: %q", changes[0].File)
	}
	if err := writeDotenv(filepath.Join(t.TempDir(), "no", "such"), o); err == nil {
		t.Error("no error for an unwritable path")
	}
}

// --- action.yml and the GitLab template against the flags ---
//
// The tests that lint, validate and run these files are in
// internal/packaging; these two need the cli's own flag and output lists.

type actionStep struct {
	ID  string            `json:"id"`
	Env map[string]string `json:"env"`
}

type actionFile struct {
	Inputs  map[string]struct{} `json:"inputs"`
	Outputs map[string]struct {
		Value string `json:"value"`
	} `json:"outputs"`
	Runs struct {
		Steps []actionStep `json:"steps"`
	} `json:"runs"`
}

func readAction(t *testing.T) actionFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a actionFile
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// flagEnvVars is every environment variable a flag reads.
func flagEnvVars() map[string]bool {
	known := map[string]bool{}
	for _, f := range slices.Concat(flags(), promoteFlags()) {
		if ev, ok := f.(interface{ GetEnvVars() []string }); ok {
			for _, v := range ev.GetEnvVars() {
				known[v] = true
			}
		}
	}
	return known
}

// TestActionCoversFlags keeps action.yml in step with the flags: every
// output the action promises is one bump writes, and every BUMP_* variable
// the action sets is one a flag reads.
func TestActionCoversFlags(t *testing.T) {
	a := readAction(t)
	known := flagEnvVars()
	step := bumpStep(t, a)
	for k := range step.Env {
		if strings.HasPrefix(k, "BUMP_") && !known[k] {
			t.Errorf("action sets %s, which no flag reads", k)
		}
	}
	for _, kv := range outputs(&bump.Outcome{}) {
		if _, ok := a.Outputs[kv[0]]; !ok {
			t.Errorf("action.yml lacks output %q", kv[0])
		}
	}
	for name := range a.Outputs {
		if !strings.Contains(a.Outputs[name].Value, "outputs."+name) {
			t.Errorf("output %s maps to %q", name, a.Outputs[name].Value)
		}
	}
	for _, in := range []string{"image", "repo", "paths", "base", "branch", "title", "labels", "reviewers", "auto-merge", "token", "github-app-id", "github-app-key", "dry-run"} {
		if _, ok := a.Inputs[in]; !ok {
			t.Errorf("action.yml lacks input %q", in)
		}
	}
}

func bumpStep(t *testing.T, a actionFile) actionStep {
	t.Helper()
	for _, s := range a.Runs.Steps {
		if s.ID == "bump" {
			return s
		}
	}
	t.Fatal("action.yml has no step with id bump")
	return actionStep{}
}

// TestGitLabTemplateCoversFlags: every BUMP_* variable the template sets is
// one a flag reads (BUMP_CONTAINER_IMAGE names the job's image).
func TestGitLabTemplateCoversFlags(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, ".gitlab-ci-template.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var tmpl map[string]any
	if err := yaml.Unmarshal(data, &tmpl); err != nil {
		t.Fatal(err)
	}
	job, ok := tmpl[".bump"]
	if !ok {
		t.Fatal("no .bump job")
	}
	known := flagEnvVars()
	known["BUMP_CONTAINER_IMAGE"] = true
	vars, _ := job.(map[string]any)["variables"].(map[string]any)
	for k := range vars {
		if !known[k] {
			t.Errorf("template sets %s, which no flag reads", k)
		}
	}
}
