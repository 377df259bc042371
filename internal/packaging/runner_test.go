package packaging

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bump-gitops/bump/internal/manifest"
	"sigs.k8s.io/yaml"
)

// bumpBinary writes the bump that buildOnce built to dir/bump, executable.
func bumpBinary(t *testing.T, dir string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	exe, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bump")
	if err := os.WriteFile(bin, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
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

var inputExpr = regexp.MustCompile(`\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}`)

// TestActionRunner runs the action's bump step as the runner does: its
// `run` script in bash, with INPUT_* and GITHUB_* variables, the step's env
// with ${{ inputs.x }} substituted (defaults for inputs the workflow does
// not give), and temp files for GITHUB_OUTPUT and GITHUB_STEP_SUMMARY. The
// manifests tree has a .bump.yaml whose environment and skip-invalid must
// win over the inputs left empty.
func TestActionRunner(t *testing.T) {
	a := readAction(t)
	step := bumpStep(t, a)
	tmp := t.TempDir()
	runnerTemp := filepath.Join(tmp, "runner")
	bumpBinary(t, filepath.Join(runnerTemp, "bump-bin"))
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
	stdout, outPath, sumPath := runActionStep(t, a, step, tmp, runnerTemp, workspace, with)
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

// runActionStep runs the action's bump step as the runner would, with the
// inputs of with (defaults for the others), and returns its stdout and the
// paths of GITHUB_OUTPUT and GITHUB_STEP_SUMMARY.
func runActionStep(t *testing.T, a actionFile, step actionStep, tmp, runnerTemp, workspace string, with map[string]string) (stdout bytes.Buffer, outPath, sumPath string) {
	t.Helper()
	inputs := map[string]string{}
	for name, in := range a.Inputs {
		inputs[name] = in.Default
		if v, ok := with[name]; ok {
			inputs[name] = v
		}
	}
	outPath, sumPath = filepath.Join(tmp, "output"), filepath.Join(tmp, "summary")
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
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bump: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	return stdout, outPath, sumPath
}

// TestActionRunnerPromote: the command, from and to inputs reach
// `bump promote`.
func TestActionRunnerPromote(t *testing.T) {
	a := readAction(t)
	step := bumpStep(t, a)
	tmp := t.TempDir()
	runnerTemp := filepath.Join(tmp, "runner")
	bumpBinary(t, filepath.Join(runnerTemp, "bump-bin"))
	workspace := filepath.Join(tmp, "workspace")
	writeFiles(t, workspace, map[string]string{
		".bump.yaml":               "version: 1\nenvironments:\n  staging:\n    paths: [envs/staging]\n  production:\n    paths: [envs/production]\n",
		"envs/staging/api.yaml":    "image: ghcr.io/acme/api:v1.3.0\n",
		"envs/production/api.yaml": "image: ghcr.io/acme/api:v1.1.0\n",
	})
	with := map[string]string{"command": "promote", "from": "staging", "to": "production", "dir": workspace, "dry-run": "true"}
	_, outPath, _ := runActionStep(t, a, step, tmp, runnerTemp, workspace, with)
	got := parseGitHubOutput(t, readString(t, outPath))
	var changes []manifest.Change
	if err := json.Unmarshal([]byte(got["changes"]), &changes); err != nil {
		t.Fatalf("changes: %v (outputs %q)", err, got)
	}
	if len(changes) != 1 || changes[0].File != "envs/production/api.yaml" || changes[0].From != "v1.1.0" || changes[0].To != "v1.3.0" {
		t.Errorf("changes = %+v, want production's api v1.1.0 -> v1.3.0", changes)
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

// TestGitLabTemplateScript runs the template's script lines in a shell with
// GitLab's variables and the template's own, then reads the dotenv report
// the job declares.
func TestGitLabTemplateScript(t *testing.T) {
	bin := bumpBinary(t, t.TempDir())
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
