package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"sigs.k8s.io/yaml"
)

func TestGitLabTemplateValid(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, ".gitlab-ci-template.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var tmpl map[string]any
	if err := yaml.Unmarshal(data, &tmpl); err != nil {
		t.Fatal(err)
	}
	hidden, err := yaml.Marshal(tmpl[".bump"])
	if err != nil {
		t.Fatal(err)
	}
	// Hidden jobs are not checked by the top-level schema: check the job itself.
	if err := validateYAML(t, "gitlab-ci.schema.json", hidden, "#/definitions/job_template"); err != nil {
		t.Errorf(".bump against GitLab's job schema: %v", err)
	}
	// And as a pipeline that includes and extends it.
	pipeline := append(append([]byte(nil), data...), []byte("\nstages: [deploy]\ndeploy-staging:\n  extends: .bump\n  stage: deploy\n  variables:\n    BUMP_REPO: https://gitlab.example.com/acme/manifests.git\n")...)
	if err := validateYAML(t, "gitlab-ci.schema.json", pipeline, ""); err != nil {
		t.Errorf("pipeline using the template: %v", err)
	}
	// The schema can fail: a job with a bad `when` is refused.
	if err := validateYAML(t, "gitlab-ci.schema.json", []byte("job:\n  script: [x]\n  when: sometimes\n"), ""); err == nil {
		t.Error("the schema accepted a broken job")
	}
}

// TestGitLabTemplateScript runs the template's script lines in a shell
// with GitLab's predefined variables and the template's variables (as the
// runner expands them), then reads the dotenv report.
func TestGitLabTemplateScript(t *testing.T) {
	data, _ := os.ReadFile(filepath.Join(root, ".gitlab-ci-template.yml"))
	var tmpl struct {
		Bump struct {
			Variables map[string]string `json:"variables"`
			Script    []string          `json:"script"`
			Artifacts struct {
				Reports struct {
					Dotenv string `json:"dotenv"`
				} `json:"reports"`
			} `json:"artifacts"`
		} `json:".bump"`
	}
	if err := yaml.Unmarshal(data, &tmpl); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	demo := filepath.Join(work, "manifests")
	if err := os.CopyFS(demo, os.DirFS(filepath.Join(root, "testdata/demo"))); err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	exe, _ := os.Executable()
	if err := os.Symlink(exe, filepath.Join(bin, "bump")); err != nil {
		t.Fatal(err)
	}
	gitlab := map[string]string{
		"GITLAB_CI": "true", "CI": "true", "CI_REGISTRY_IMAGE": "ghcr.io/acme/api", "CI_COMMIT_SHORT_SHA": "v1.2.3",
		"CI_PROJECT_URL": "https://gitlab.example.com/acme/api", "CI_COMMIT_SHA": "0123abc",
		"CI_PIPELINE_URL":  "https://gitlab.example.com/acme/api/-/pipelines/7",
		"GITLAB_USER_NAME": "Ci User", "GITLAB_USER_EMAIL": "ci@example.com",
		"PATH": bin + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME": work,
	}
	// The job's own variables, as a user's `extends: .bump` job sets them.
	job := map[string]string{"BUMP_DIR": demo}
	env := []string{}
	for k, v := range gitlab {
		env = append(env, k+"="+v)
	}
	for k, v := range tmpl.Bump.Variables {
		if j, ok := job[k]; ok {
			v = j
		}
		env = append(env, k+"="+os.Expand(v, func(name string) string { return gitlab[name] }))
	}
	for k, v := range job {
		if _, ok := tmpl.Bump.Variables[k]; !ok {
			env = append(env, k+"="+v)
		}
	}
	for _, line := range tmpl.Bump.Script {
		cmd := exec.Command("sh", "-c", line)
		cmd.Dir, cmd.Env = work, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
	}
	report, err := os.ReadFile(filepath.Join(work, tmpl.Bump.Artifacts.Reports.Dotenv))
	if err != nil {
		t.Fatalf("dotenv report: %v", err)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(report)), "\n") {
		k, v, ok := strings.Cut(l, "=")
		if !ok || !regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`).MatchString(k) {
			t.Errorf("not a dotenv line: %q", l)
		}
		got[k] = v
	}
	if got["BUMP_CHANGED"] != "true" || !strings.HasPrefix(got["BUMP_CHANGES"], `[{"file":"apps/api/deployment.yaml","line":21,`) {
		t.Errorf("report:\n%s", report)
	}
	if b, _ := os.ReadFile(filepath.Join(demo, "jobs/cleanup.yaml")); !bytes.Contains(b, []byte("ghcr.io/acme/api:v1.2.3")) {
		t.Error("the default BUMP_IMAGE (this pipeline's image) was not applied")
	}
}

func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	lint := linter.New(&linter.Config{Warn: func(rule, desc, url, msg string, loc []parser.Range) {
		warnings = append(warnings, rule+": "+msg)
	}})
	stages, _, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range res.Warnings {
		warnings = append(warnings, w.Short)
	}
	if len(warnings) > 0 {
		t.Errorf("Dockerfile lint: %q", warnings)
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a multi-stage build", len(stages))
	}
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final.BaseName, "gcr.io/distroless/static") || !strings.HasSuffix(final.BaseName, ":nonroot") {
		t.Errorf("final stage is FROM %s", final.BaseName)
	}
	var user, entry string
	labels := map[string]bool{}
	for _, cmd := range final.Commands {
		switch c := cmd.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.EntrypointCommand:
			entry = strings.Join(c.CmdLine, " ")
			if c.PrependShell {
				t.Error("ENTRYPOINT must be in exec form")
			}
		case *instructions.LabelCommand:
			for _, kv := range c.Labels {
				labels[kv.Key] = true
			}
		}
	}
	if user == "" || strings.HasPrefix(user, "root") || strings.HasPrefix(user, "0") {
		t.Errorf("final USER = %q, want non-root", user)
	}
	if entry != "/bump" {
		t.Errorf("ENTRYPOINT = %q", entry)
	}
	for _, l := range []string{"org.opencontainers.image.title", "org.opencontainers.image.version", "org.opencontainers.image.revision", "org.opencontainers.image.source"} {
		if !labels[l] {
			t.Errorf("missing label %s", l)
		}
	}
	// .ci/run builds the binary with the Dockerfile's flags.
	build := regexp.MustCompile(`go build (-trimpath -ldflags "-s -w -X [^"]*") -o`)
	m := build.FindSubmatch(data)
	ci, err := os.ReadFile(filepath.Join(root, ".ci/run"))
	if err != nil {
		t.Fatal(err)
	}
	mc := build.FindSubmatch(ci)
	if m == nil || mc == nil {
		t.Fatal("no go build line in the Dockerfile or .ci/run")
	}
	norm := regexp.MustCompile(`=[^ "]+`)
	if a, b := norm.ReplaceAllString(string(m[1]), "="), norm.ReplaceAllString(string(mc[1]), "="); a != b {
		t.Errorf("build flags differ:\nDockerfile: %s\n.ci/run:    %s", a, b)
	}
	if !bytes.Contains(data, []byte("CGO_ENABLED=0")) || !bytes.Contains(ci, []byte("CGO_ENABLED=0")) {
		t.Error("both builds must be static (CGO_ENABLED=0)")
	}
}
