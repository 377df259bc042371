package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bump-gitops/bump/internal/bump"
	"github.com/bump-gitops/bump/internal/manifest"
)

// A warning about a rewritten file reaches every channel a reviewer reads:
// stderr, the JSON and the Actions annotations.
func TestWarningsRendered(t *testing.T) {
	w := manifest.Skip{File: "k8s/app.yaml", Line: 8, Reason: `repeats the mapping key "selector"`}
	o := &bump.Outcome{Changed: true, Warnings: []manifest.Skip{w},
		Changes: []manifest.Change{{File: "k8s/app.yaml", Line: 20, Image: "ghcr.io/acme/api", From: "v1", To: "v2"}}}

	var stdout, stderr bytes.Buffer
	if err := render(&stdout, &stderr, "text", o); err != nil {
		t.Fatal(err)
	}
	if want := "warning: k8s/app.yaml:8: repeats the mapping key \"selector\"\n"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q lacks %q", stderr.String(), want)
	}

	stdout.Reset()
	if err := render(&stdout, &stderr, "json", o); err != nil {
		t.Fatal(err)
	}
	var got struct{ Warnings []manifest.Skip }
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil || len(got.Warnings) != 1 || got.Warnings[0] != w {
		t.Errorf("json warnings = %+v (%v) from %s", got.Warnings, err, stdout.String())
	}

	stdout.Reset()
	if err := githubActions(getenvOf(map[string]string{"GITHUB_ACTIONS": "true"}), &stdout, o, nil); err != nil {
		t.Fatal(err)
	}
	if want := "::warning title=bump::k8s/app.yaml:8: repeats the mapping key \"selector\"\n"; !strings.Contains(stdout.String(), want) {
		t.Errorf("annotations %q lack %q", stdout.String(), want)
	}
}
