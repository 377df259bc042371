package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// root is the repository root, from this package's directory.
const root = "../.."

type actionFile struct {
	Inputs map[string]struct {
		Default  string `json:"default"`
		Required bool   `json:"required"`
	} `json:"inputs"`
	Outputs map[string]struct {
		Value string `json:"value"`
	} `json:"outputs"`
	Runs struct {
		Using string `json:"using"`
		Steps []struct {
			ID  string            `json:"id"`
			Env map[string]string `json:"env"`
			Run string            `json:"run"`
		} `json:"steps"`
	} `json:"runs"`
}

func validateYAML(t *testing.T, schemaFile string, doc []byte, pointer string) error {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "testdata/schemas", schemaFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	schemaDoc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	url := "file:///schemas/" + schemaFile
	if err := c.AddResource(url, schemaDoc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(url + pointer)
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(inst)
}

func TestActionMetadataValid(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := validateYAML(t, "github-action.schema.json", data, ""); err != nil {
		t.Fatalf("action.yml against SchemaStore's schema: %v", err)
	}
	// The schema can fail: a Docker action without an image is refused.
	if err := validateYAML(t, "github-action.schema.json", []byte("name: x\ndescription: y\nruns:\n  using: docker\n"), ""); err == nil {
		t.Fatal("the schema accepted a broken action")
	}
	// Every bump flag that matters in CI is an input, and every input reaches bump.
	var a actionFile
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatal(err)
	}
	step := a.Runs.Steps[len(a.Runs.Steps)-1]
	ref := regexp.MustCompile(`^\$\{\{ inputs\.([a-z0-9-]+) \}\}$`)
	used := map[string]bool{}
	for k, v := range step.Env {
		m := ref.FindStringSubmatch(v)
		if m == nil || !strings.HasPrefix(k, "BUMP_") {
			t.Errorf("env %s=%s is not a BUMP_ variable fed by an input", k, v)
			continue
		}
		if _, ok := a.Inputs[m[1]]; !ok {
			t.Errorf("env %s uses unknown input %s", k, m[1])
		}
		used[m[1]] = true
	}
	for name := range a.Inputs {
		if !used[name] && name != "go-version" {
			t.Errorf("input %s never reaches bump", name)
		}
	}
	for _, o := range []string{"pr-url", "pr-number", "branch", "commit", "changed", "changes"} {
		if _, ok := a.Outputs[o]; !ok {
			t.Errorf("output %s missing", o)
		}
	}
}

// TestActionlint lints a sample workflow that uses the action; actionlint
// checks its inputs against action.yml.
func TestActionlint(t *testing.T) {
	var out bytes.Buffer
	l, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{Oneline: true})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.LintFile(filepath.Join(root, "testdata/action/workflow.yml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) > 0 {
		t.Errorf("actionlint:\n%s", out.String())
	}
	// And it catches a misspelt input of the action.
	bad := filepath.Join(t.TempDir(), "bad.yml")
	wf, _ := os.ReadFile(filepath.Join(root, "testdata/action/workflow.yml"))
	os.WriteFile(bad, bytes.Replace(wf, []byte("labels:"), []byte("lables:"), 1), 0o644)
	abs, _ := filepath.Abs(root)
	proj, err := actionlint.NewProject(abs)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errs, _ = l.LintFile(bad, proj)
	if len(errs) == 0 || !strings.Contains(out.String(), `input "lables" is not defined in action "bump"`) {
		t.Errorf("actionlint did not catch a misspelt input:\n%s", out.String())
	}
}

// TestActionRunsLikeTheRunner runs the bump binary as the Actions runner
// runs the action's last step: the step's env with ${{ inputs.* }}
// substituted (defaults for what the workflow leaves out), GITHUB_*
// variables, and files for GITHUB_OUTPUT and GITHUB_STEP_SUMMARY.
func TestActionRunsLikeTheRunner(t *testing.T) {
	data, _ := os.ReadFile(filepath.Join(root, "action.yml"))
	var a actionFile
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(root, "testdata/demo"))); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	run := func(with map[string]string) (map[string]string, string, string, int) {
		t.Helper()
		tmp := t.TempDir()
		outFile, sumFile := filepath.Join(tmp, "output"), filepath.Join(tmp, "summary")
		os.WriteFile(outFile, nil, 0o644)
		os.WriteFile(sumFile, nil, 0o644)
		env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp, "GITHUB_ACTIONS=true", "CI=true",
			"GITHUB_OUTPUT=" + outFile, "GITHUB_STEP_SUMMARY=" + sumFile, "RUNNER_TEMP=" + tmp,
			"GITHUB_SERVER_URL=https://github.com", "GITHUB_REPOSITORY=acme/api", "GITHUB_SHA=0123abc", "GITHUB_RUN_ID=99"}
		step := a.Runs.Steps[len(a.Runs.Steps)-1]
		for k, v := range step.Env {
			name := strings.TrimSuffix(strings.TrimPrefix(v, "${{ inputs."), " }}")
			val, ok := with[name]
			if !ok {
				val = a.Inputs[name].Default
			}
			env = append(env, k+"="+val)
			env = append(env, "INPUT_"+strings.ToUpper(name)+"="+val)
		}
		cmd := exec.Command(filepath.Join(t.TempDir(), "bump"))
		os.Symlink(exe, cmd.Path)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		outputs := parseGitHubOutput(t, outFile)
		sum, _ := os.ReadFile(sumFile)
		return outputs, string(sum), stdout.String() + stderr.String(), code
	}

	outputs, summary, log, code := run(map[string]string{"image": "ghcr.io/acme/api:v1.2.3", "dir": dir})
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, log)
	}
	if outputs["changed"] != "true" || outputs["pr-url"] != "" || outputs["branch"] != "" {
		t.Errorf("outputs: %v", outputs)
	}
	var changes []map[string]any
	if err := json.Unmarshal([]byte(outputs["changes"]), &changes); err != nil || len(changes) != 7 {
		t.Errorf("changes output %q: %v", outputs["changes"], err)
	}
	if !strings.Contains(summary, "| apps/api/deployment.yaml:21 | ghcr.io/acme/api | v1.2.2 | v1.2.3 |") {
		t.Errorf("summary:\n%s", summary)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "apps/api/deployment.yaml")); !bytes.Contains(b, []byte("ghcr.io/acme/api:v1.2.3")) {
		t.Error("the files were not rewritten")
	}

	// A failure is an ::error:: annotation and a non-zero exit.
	_, _, log, code = run(map[string]string{"image": "ghcr.io/acme/api", "dir": dir})
	if code == 0 || !strings.Contains(log, "::error title=bump::invalid image") {
		t.Errorf("exit %d:\n%s", code, log)
	}
}

// parseGitHubOutput reads name=value and name<<DELIM lines, as the runner does.
func parseGitHubOutput(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if name, delim, ok := strings.Cut(line, "<<"); ok {
			var val []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				val = append(val, lines[i])
			}
			if i == len(lines) {
				t.Fatalf("output %s: delimiter %s never closes", name, delim)
			}
			out[name] = strings.Join(val, "\n")
		} else if name, val, ok := strings.Cut(line, "="); ok {
			out[name] = val
		}
	}
	return out
}
