package packaging

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestGitLabTemplatePromoteJob: the template offers a `.bump-promote` job
// that runs `bump promote` with BUMP_FROM/BUMP_TO, on a scheduled or manual
// pipeline only, and promotes every shared image unless told otherwise.
func TestGitLabTemplatePromoteJob(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, ".gitlab-ci-template.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var tmpl map[string]struct {
		Extends   string            `json:"extends"`
		Variables map[string]string `json:"variables"`
		Script    []string          `json:"script"`
		Rules     []map[string]any  `json:"rules"`
	}
	if err := yaml.Unmarshal(data, &tmpl); err != nil {
		t.Fatal(err)
	}
	job, ok := tmpl[".bump-promote"]
	if !ok {
		t.Fatal("no .bump-promote job")
	}
	if job.Extends != ".bump" {
		t.Errorf("extends %q, want .bump (its image, variables and dotenv report)", job.Extends)
	}
	if !slices.ContainsFunc(job.Script, func(s string) bool { return strings.HasPrefix(s, "bump promote ") }) {
		t.Errorf("script %q does not run bump promote", job.Script)
	}
	for _, v := range []string{"BUMP_FROM", "BUMP_TO", "BUMP_IMAGE"} {
		if val, ok := job.Variables[v]; !ok || val != "" {
			t.Errorf("variable %s = %q (set %v), want declared and empty", v, val, ok)
		}
	}
	var schedule, manual bool
	for _, r := range job.Rules {
		if s, _ := r["if"].(string); strings.Contains(s, `$CI_PIPELINE_SOURCE == "schedule"`) {
			schedule = true
		}
		if r["when"] == "manual" {
			manual = true
		}
	}
	if !schedule || !manual {
		t.Errorf("rules %v: want a scheduled pipeline and a manual job", job.Rules)
	}
}
