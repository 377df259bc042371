package cli

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bump-gitops/bump/internal/bump"
	"github.com/bump-gitops/bump/internal/manifest"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/rhysd/actionlint"
	"github.com/santhosh-tekuri/jsonschema/v6"
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

// --- the files CI systems run: action.yml, the GitLab template, the Dockerfile ---

func yamlToJSON(t *testing.T, path string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return yamlValue(t, data)
}

func yamlValue(t *testing.T, data []byte) any {
	t.Helper()
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func compileSchema(t *testing.T, file, fragment string) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "testdata", "schemas", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	url := "file:///schemas/" + file
	c := jsonschema.NewCompiler()
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(url + fragment)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type actionStep struct {
	ID  string            `json:"id"`
	Env map[string]string `json:"env"`
	Run string            `json:"run"`
}

type actionFile struct {
	Inputs map[string]struct {
		Default  string `json:"default"`
		Required bool   `json:"required"`
	} `json:"inputs"`
	Outputs map[string]struct {
		Value string `json:"value"`
	} `json:"outputs"`
	Runs struct {
		Using string            `json:"using"`
		Env   map[string]string `json:"env"`
		Steps []actionStep      `json:"steps"`
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

func TestActionSchema(t *testing.T) {
	s := compileSchema(t, "github-action.schema.json", "")
	if err := s.Validate(yamlToJSON(t, filepath.Join(root, "action.yml"))); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	// The check can fail: a misspelled key is rejected.
	bad := yamlValue(t, []byte("name: x\ndescription: y\nruns: {using: composite, stepz: []}\n"))
	if err := s.Validate(bad); err == nil {
		t.Error("schema accepted a broken action")
	}
}

// TestActionCoversFlags keeps action.yml in step with the flags: every
// output the action promises is one bump writes, and every BUMP_* variable
// the action sets is one a flag reads.
func TestActionCoversFlags(t *testing.T) {
	a := readAction(t)
	known := map[string]bool{}
	for _, f := range flags() {
		if ev, ok := f.(interface{ GetEnvVars() []string }); ok {
			for _, v := range ev.GetEnvVars() {
				known[v] = true
			}
		}
	}
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

// TestActionlint lints the sample workflow, which uses the action from the
// repository root (uses: ./), so actionlint also checks its inputs against
// action.yml.
func TestActionlint(t *testing.T) {
	proj := t.TempDir()
	wf := filepath.Join(proj, ".github", "workflows")
	if err := os.MkdirAll(wf, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(root, "action.yml"), filepath.Join(proj, "action.yml"))
	copyFile(t, filepath.Join(root, "testdata", "action", "workflow.yml"), filepath.Join(wf, "release.yml"))
	var out bytes.Buffer
	l, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := actionlint.NewProject(proj)
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.LintFile(filepath.Join(wf, "release.yml"), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) > 0 {
		t.Fatalf("actionlint:\n%s", out.String())
	}

	// It can fail: an input the action does not declare is reported.
	bad := strings.Replace(readString(t, filepath.Join(wf, "release.yml")), "paths: ", "pathz: ", 1)
	errs, err = l.Lint(filepath.Join(wf, "bad.yml"), []byte(bad), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) == 0 {
		t.Error("actionlint accepted an undeclared input")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	if err := os.WriteFile(to, []byte(readString(t, from)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// buildBump builds the binary once per test that needs it.
func buildBump(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "bump")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/bump")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var inputExpr = regexp.MustCompile(`\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}`)

// TestActionRunner runs the action's bump step as the runner does: its
// `run` script in bash, with INPUT_* and GITHUB_* variables, the step's env
// with ${{ inputs.x }} substituted (defaults for inputs the workflow does
// not give), and temp files for GITHUB_OUTPUT and GITHUB_STEP_SUMMARY. The
// manifests tree has a .bump.yaml whose environment and skip-invalid must
// win over the inputs left empty.
func TestActionRunner(t *testing.T) {
	bin := buildBump(t)
	a := readAction(t)
	step := bumpStep(t, a)
	tmp := t.TempDir()
	runnerTemp := filepath.Join(tmp, "runner")
	if err := os.MkdirAll(filepath.Join(runnerTemp, "bump-bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, bin, filepath.Join(runnerTemp, "bump-bin", "bump"))
	if err := os.Chmod(filepath.Join(runnerTemp, "bump-bin", "bump"), 0o755); err != nil {
		t.Fatal(err)
	}
	workspace := filepath.Join(tmp, "workspace")
	if err := os.CopyFS(workspace, os.DirFS(filepath.Join(root, "testdata", "demo"))); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, workspace, map[string]string{
		".bump.yaml":        "version: 1\nskip-invalid: true\nenvironments:\n  apps:\n    paths: [apps]\n",
		"apps/broken.yaml":  "image: ghcr.io/acme/api:v1.2.2\n  bad: [\n",
		"other/direct.yaml": "image: ghcr.io/acme/api:v1.2.2\n",
	})

	with := map[string]string{"image": "ghcr.io/acme/api:v1.2.3", "dir": workspace, "dry-run": "true", "env": "apps"}
	inputs := map[string]string{}
	for name, in := range a.Inputs {
		inputs[name] = in.Default
		if v, ok := with[name]; ok {
			inputs[name] = v
		}
	}
	outPath, sumPath := filepath.Join(tmp, "output"), filepath.Join(tmp, "summary")
	for _, f := range []string{outPath, sumPath} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	environ := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + tmp,
		"GITHUB_ACTIONS=true", "CI=true", "GITHUB_OUTPUT=" + outPath, "GITHUB_STEP_SUMMARY=" + sumPath,
		"GITHUB_WORKSPACE=" + workspace, "GITHUB_REPOSITORY=acme/api", "GITHUB_SERVER_URL=https://github.example",
		"GITHUB_RUN_ID=1", "GITHUB_SHA=0123456789abcdef0123456789abcdef01234567", "RUNNER_TEMP=" + runnerTemp,
	}
	for name, v := range inputs {
		environ = append(environ, "INPUT_"+strings.ToUpper(strings.ReplaceAll(name, " ", "_"))+"="+v)
	}
	for _, m := range []map[string]string{a.Runs.Env, step.Env} {
		for k, v := range m {
			environ = append(environ, k+"="+inputExpr.ReplaceAllStringFunc(v, func(e string) string {
				name := inputExpr.FindStringSubmatch(e)[1]
				if _, ok := a.Inputs[name]; !ok {
					t.Errorf("env %s uses undeclared input %s", k, name)
				}
				return inputs[name]
			}))
		}
	}
	if strings.Contains(strings.Join(environ, "\n")+step.Run, "${{") {
		t.Fatalf("unsubstituted expression in env or script")
	}
	// The runner writes the script to a file and runs `bash --noprofile --norc -eo pipefail FILE`.
	script := filepath.Join(tmp, "step.sh")
	if err := os.WriteFile(script, []byte(step.Run), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", script)
	cmd.Dir = workspace
	cmd.Env = environ
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bump: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	got := parseGitHubOutput(t, readString(t, outPath))
	if got["changed"] != "true" {
		t.Errorf("changed = %q, want true", got["changed"])
	}
	var changes []manifest.Change
	if err := json.Unmarshal([]byte(got["changes"]), &changes); err != nil {
		t.Fatalf("changes: %v", err)
	}
	if len(changes) == 0 {
		t.Fatal("no changes reported")
	}
	for _, c := range changes {
		if c.Image != "ghcr.io/acme/api" || c.To != "v1.2.3" || c.From == c.To {
			t.Errorf("unexpected change %+v", c)
		}
		if !strings.HasPrefix(c.File, "apps/") {
			t.Errorf("change outside the environment's paths: %s", c.File)
		}
	}
	if got["pr-url"] != "" || got["commit"] != "" {
		t.Errorf("a dry run reported a PR or commit: %q", got)
	}
	if !strings.Contains(stdout.String(), "::warning title=bump skipped::apps/broken.yaml") {
		t.Errorf("no warning annotation for the skipped file:\n%s", stdout.String())
	}
	sum := readString(t, sumPath)
	if !strings.Contains(sum, "| "+changes[0].File) || !strings.Contains(sum, "v1.2.3") {
		t.Errorf("summary lacks the change table:\n%s", sum)
	}
	if !strings.Contains(readString(t, filepath.Join(workspace, changes[0].File)), changes[0].From) {
		t.Error("dry run rewrote the tree")
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// --- GitLab CI template ---

func readTemplate(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(readString(t, filepath.Join(root, ".gitlab-ci-template.yml"))), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestGitLabTemplateSchema(t *testing.T) {
	tmpl := readTemplate(t)
	job, ok := tmpl[".bump"]
	if !ok {
		t.Fatal("no .bump job")
	}
	js, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	jobTemplate := compileSchema(t, "gitlab-ci.schema.json", "#/definitions/job_template")
	if err := jobTemplate.Validate(yamlValue(t, js)); err != nil {
		t.Errorf(".bump is not a valid job: %v", err)
	}
	// The whole file, plus a visible job extending .bump as users write it.
	whole := readString(t, filepath.Join(root, ".gitlab-ci-template.yml")) +
		"\nstages: [deploy]\ndeploy-staging:\n  extends: .bump\n  stage: deploy\n  variables:\n    BUMP_REPO: https://gitlab.example/acme/manifests.git\n    BUMP_PATH: overlays/staging\n"
	ci := compileSchema(t, "gitlab-ci.schema.json", "")
	if err := ci.Validate(yamlValue(t, []byte(whole))); err != nil {
		t.Errorf("pipeline using the template: %v", err)
	}
	// It can fail: a bad `when` in the template is rejected.
	bad, _ := json.Marshal(map[string]any{"script": []string{"bump"}, "when": "sometimes"})
	if err := jobTemplate.Validate(yamlValue(t, bad)); err == nil {
		t.Error("job_template accepted when: sometimes")
	}
	// Every BUMP_* variable the template sets is one a flag reads.
	known := map[string]bool{"BUMP_CONTAINER_IMAGE": true}
	for _, f := range flags() {
		if ev, ok := f.(interface{ GetEnvVars() []string }); ok {
			for _, v := range ev.GetEnvVars() {
				known[v] = true
			}
		}
	}
	vars, _ := job.(map[string]any)["variables"].(map[string]any)
	for k := range vars {
		if !known[k] {
			t.Errorf("template sets %s, which no flag reads", k)
		}
	}
}

// TestGitLabTemplateScript runs the template's script lines in a shell with
// GitLab's variables and the template's own, then reads the dotenv report
// the job declares.
func TestGitLabTemplateScript(t *testing.T) {
	bin := buildBump(t)
	job := readTemplate(t)[".bump"].(map[string]any)
	tmp := t.TempDir()
	demo := filepath.Join(tmp, "manifests")
	if err := os.CopyFS(demo, os.DirFS(filepath.Join(root, "testdata", "demo"))); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, demo, map[string]string{
		".bump.yaml":       "version: 1\nskip-invalid: true\nenvironments:\n  apps:\n    paths: [apps]\n",
		"apps/broken.yaml": "image: ghcr.io/acme/api:v1.2.2\n  bad: [\n",
	})
	gitlab := map[string]string{
		"CI": "true", "GITLAB_CI": "true", "CI_PROJECT_DIR": tmp, "CI_REGISTRY_IMAGE": "ghcr.io/acme/api",
		"CI_COMMIT_SHORT_SHA": "v1.2.3", "CI_COMMIT_SHA": "0123456789abcdef0123456789abcdef01234567",
		"CI_SERVER_URL": "https://gitlab.example", "CI_PROJECT_PATH": "acme/api", "CI_JOB_URL": "https://gitlab.example/acme/api/-/jobs/1",
		"CI_PIPELINE_URL": "https://gitlab.example/acme/api/-/pipelines/1",
		"PATH":            filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME": tmp,
	}
	vars := map[string]string{}
	for k, v := range job["variables"].(map[string]any) {
		vars[k] = v.(string)
	}
	// The job's variables, as a user's job would set them on top.
	vars["BUMP_DIR"], vars["BUMP_DRY_RUN"], vars["BUMP_ENV"] = demo, "true", "apps"
	expand := func(s string) string {
		return os.Expand(s, func(k string) string {
			if v, ok := gitlab[k]; ok {
				return v
			}
			return vars[k]
		})
	}
	environ := []string{}
	for k, v := range gitlab {
		environ = append(environ, k+"="+v)
	}
	for k, v := range vars {
		environ = append(environ, k+"="+expand(v))
	}
	var script []string
	for _, l := range job["script"].([]any) {
		script = append(script, l.(string))
	}
	cmd := exec.Command("sh", "-ec", strings.Join(script, "\n"))
	cmd.Dir, cmd.Env = tmp, environ
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("script: %v\n%s", err, out)
	}
	report := job["artifacts"].(map[string]any)["reports"].(map[string]any)["dotenv"].(string)
	got := parseDotenv(t, []byte(readString(t, filepath.Join(tmp, report))))
	if got["BUMP_CHANGED"] != "true" {
		t.Errorf("BUMP_CHANGED = %q", got["BUMP_CHANGED"])
	}
	var changes []manifest.Change
	if err := json.Unmarshal([]byte(got["BUMP_CHANGES"]), &changes); err != nil || len(changes) == 0 {
		t.Fatalf("BUMP_CHANGES = %q: %v", got["BUMP_CHANGES"], err)
	}
	for _, c := range changes {
		if c.To != "v1.2.3" {
			t.Errorf("BUMP_IMAGE default did not use CI_REGISTRY_IMAGE:CI_COMMIT_SHORT_SHA: %+v", c)
		}
		if !strings.HasPrefix(c.File, "apps/") {
			t.Errorf("change outside the environment's paths: %s", c.File)
		}
	}
}

// --- Dockerfile ---

var buildLine = regexp.MustCompile(`(?m)go build -trimpath -ldflags "[^"]*" -o \S+ \./cmd/bump`)

func TestDockerfile(t *testing.T) {
	src := readString(t, filepath.Join(root, "Dockerfile"))
	res, err := parser.Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	lint := linter.New(&linter.Config{ExperimentalAll: true, Warn: func(rule, _, _, msg string, loc []parser.Range) {
		warnings = append(warnings, rule+": "+msg)
	}})
	stages, _, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) > 0 || len(warnings) > 0 {
		t.Errorf("Dockerfile lint: %v %v", res.Warnings, warnings)
	}
	// The build line's promise of a static binary rests on its stage's ENV.
	cgo := ""
	for _, c := range stages[0].Commands {
		if e, ok := c.(*instructions.EnvCommand); ok {
			for _, kv := range e.Env {
				if kv.Key == "CGO_ENABLED" {
					cgo = kv.Value
				}
			}
		}
	}
	if cgo != "0" {
		t.Errorf("build stage sets CGO_ENABLED=%q, want 0", cgo)
	}
	final := stages[len(stages)-1]
	var user, entry string
	labels := map[string]bool{}
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.EntrypointCommand:
			entry = strings.Join(c.CmdLine, " ")
			if c.PrependShell {
				t.Error("ENTRYPOINT in shell form")
			}
		case *instructions.LabelCommand:
			for _, kv := range c.Labels {
				labels[kv.Key] = true
			}
		}
	}
	if user == "" || strings.HasPrefix(user, "root") || strings.HasPrefix(user, "0") {
		t.Errorf("final stage runs as %q", user)
	}
	if entry != "/bump" {
		t.Errorf("ENTRYPOINT = %q", entry)
	}
	for _, l := range []string{"org.opencontainers.image.version", "org.opencontainers.image.revision", "org.opencontainers.image.source"} {
		if !labels[l] {
			t.Errorf("final stage lacks label %s", l)
		}
	}
	if !strings.Contains(final.BaseName, "distroless/static") && final.BaseName != "scratch" {
		t.Errorf("final base %q is neither distroless static nor scratch", final.BaseName)
	}

	// .ci/run builds the binary it measures with the Dockerfile's command.
	docker := buildLine.FindString(src)
	if docker == "" || !strings.Contains(docker, "cli.version=") || !strings.Contains(docker, "-s -w") {
		t.Fatalf("no stamped, stripped build line in the Dockerfile: %q", docker)
	}
	ciRun := buildLine.FindString(readString(t, filepath.Join(root, ".ci", "run")))
	norm := regexp.MustCompile(`-o \S+`)
	if norm.ReplaceAllString(ciRun, "-o OUT") != norm.ReplaceAllString(docker, "-o OUT") {
		t.Errorf("build commands differ:\nDockerfile: %s\n.ci/run:    %s", docker, ciRun)
	}
}

// TestDockerfileBuild runs the Dockerfile's own `go build` line, with its
// ENV and ARGs set, and checks what the image promises of the binary:
// stamped (--version), static (no ELF interpreter), stripped (no symbol
// table) and trimmed (no path of the build machine inside).
func TestDockerfileBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	line := buildLine.FindString(readString(t, filepath.Join(root, "Dockerfile")))
	if line == "" {
		t.Fatal("no build line in the Dockerfile")
	}
	bin := filepath.Join(t.TempDir(), "bump")
	line = regexp.MustCompile(`-o \S+`).ReplaceAllLiteralString(line, `-o "$BUMP_TEST_OUT"`)
	cmd := exec.Command("sh", "-ec", line)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local", "BUMP_TEST_OUT="+bin,
		"VERSION=v9.8.7", "COMMIT=0123abc", "DATE=2026-01-02T03:04:05Z")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("bump --version: %v", err)
	}
	if got, want := strings.TrimSpace(string(out)), "bump v9.8.7 (commit 0123abc, built 2026-01-02T03:04:05Z)"; got != want {
		t.Errorf("--version = %q, want %q", got, want)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("binary has an ELF interpreter: not static")
		}
	}
	if f.Section(".symtab") != nil {
		t.Error("binary has a symbol table: not stripped (-s)")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains([]byte(readString(t, bin)), []byte(abs)) {
		t.Error("binary holds the module's absolute path: not trimmed")
	}
	t.Logf("binary size: %d bytes", len(readString(t, bin)))
}
