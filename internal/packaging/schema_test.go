package packaging

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// readTemplate reads the GitLab CI template as a generic map.
func readTemplate(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(readString(t, filepath.Join(root, ".gitlab-ci-template.yml"))), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

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

// TestActionSchema validates action.yml against the Action metadata schema.
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

// TestGitLabTemplateSchema validates the .bump job, and a pipeline using it,
// against GitLab's CI schema. (That every variable it sets is one a flag
// reads is TestGitLabTemplateCoversFlags, in internal/cli.)
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
}
