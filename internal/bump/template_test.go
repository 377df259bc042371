package bump

import (
	"strings"
	"testing"

	"github.com/bump-gitops/bump/internal/imageref"
	"github.com/bump-gitops/bump/internal/manifest"
)

func mustRefs(t *testing.T, refs ...string) []imageref.Ref {
	t.Helper()
	var out []imageref.Ref
	for _, s := range refs {
		r, err := imageref.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestTemplatesDefaults(t *testing.T) {
	refs := mustRefs(t, "ghcr.io/acme/worker:v1.2.3", "ghcr.io/acme/api:v1.2.3")
	ci := CI{SourceURL: "https://github.com/acme/api/commit/abc", PipelineURL: "https://github.com/acme/api/actions/runs/1"}
	res := &manifest.Result{Changes: []manifest.Change{
		{File: "apps/a|b.yaml", Line: 3, Image: "ghcr.io/acme/api", From: "v1.2.2", To: "v1.2.3"},
		{File: "apps/w.yaml", Line: 5, Image: "ghcr.io/acme/worker", From: "v1.2.2", To: "v1.2.3"},
	}}
	d := newTemplateData(refs, ci, res, "main")

	branch, err := render("branch", "", defaultBranch, d)
	if err != nil || branch != "bump/api+worker" {
		t.Errorf("branch = %q, %v; want bump/api+worker", branch, err)
	}
	msg, err := commitMessage("", d)
	if err != nil {
		t.Fatal(err)
	}
	wantMsg := "chore(deploy): bump ghcr.io/acme/worker to v1.2.3, ghcr.io/acme/api to v1.2.3\n\n" +
		"- apps/a|b.yaml:3 ghcr.io/acme/api v1.2.2 -> v1.2.3\n- apps/w.yaml:5 ghcr.io/acme/worker v1.2.2 -> v1.2.3\n\n" +
		"Source: https://github.com/acme/api/commit/abc\nPipeline: https://github.com/acme/api/actions/runs/1\n" +
		"Bump-Image: ghcr.io/acme/worker:v1.2.3\nBump-Image: ghcr.io/acme/api:v1.2.3\n" +
		"Bump-Source: https://github.com/acme/api/commit/abc\nBump-Pipeline: https://github.com/acme/api/actions/runs/1\nBumped-by: bump\n"
	if msg != wantMsg {
		t.Errorf("message:\n%s\nwant:\n%s", msg, wantMsg)
	}
	body, err := render("body", "", defaultBody, d)
	if err != nil {
		t.Fatal(err)
	}
	// The pipe in the file name must not split the table cell.
	if !strings.Contains(body, `| apps/a\|b.yaml:3 | ghcr.io/acme/api | v1.2.2 | v1.2.3 |`) {
		t.Errorf("body has no escaped table row:\n%s", body)
	}
	if !strings.Contains(body, "Pipeline: https://github.com/acme/api/actions/runs/1") {
		t.Errorf("body lacks the pipeline link:\n%s", body)
	}
}

// A file that holds the image but was left alone, and a warning about a
// rewritten file, are in the default body: a reviewer must see that a
// deploy was left behind.
func TestTemplateBodyListsSkipped(t *testing.T) {
	res := &manifest.Result{
		Changes:  []manifest.Change{{File: "a.yaml", Line: 1, Image: "ghcr.io/acme/api", From: "v1", To: "v2"}},
		Skipped:  []manifest.Skip{{File: "b.yaml", Line: 4, Image: "ghcr.io/acme/api", Reason: "invalid yaml: bad | indent"}, {File: "link.yaml", Reason: "symlink (not followed)"}},
		Warnings: []manifest.Skip{{File: "c.yaml", Line: 8, Reason: `repeats the mapping key "selector"`}},
	}
	body, err := render("body", "", defaultBody, newTemplateData(mustRefs(t, "ghcr.io/acme/api:v2"), CI{}, res, "main"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`- b.yaml:4 ghcr.io/acme/api: invalid yaml: bad \| indent`, `- c.yaml:8: repeats the mapping key "selector"`} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "link.yaml") {
		t.Errorf("body lists a skip that holds no image:\n%s", body)
	}
}

func TestTemplateErrors(t *testing.T) {
	d := newTemplateData(mustRefs(t, "nginx:1.27"), CI{}, &manifest.Result{}, "main")
	if _, err := render("branch", "bump/{{.Nope}}", defaultBranch, d); err == nil {
		t.Error("unknown field: no error")
	}
	if _, err := render("branch", "bump/{{", defaultBranch, d); err == nil {
		t.Error("bad syntax: no error")
	}
	got, err := render("branch", "deploy/{{.Name}}-{{.Version}}", defaultBranch, d)
	if err != nil || got != "deploy/nginx-1.27" {
		t.Errorf("custom branch = %q, %v", got, err)
	}
	if !perVersionBranch("deploy/{{.Name}}-{{.Version}}") || perVersionBranch(defaultBranch) {
		t.Error("perVersionBranch misjudges templates")
	}
}

func TestMarker(t *testing.T) {
	a := marker(mustRefs(t, "nginx:1", "ghcr.io/acme/api:v1"))
	b := marker(mustRefs(t, "ghcr.io/acme/api:v2", "docker.io/library/nginx:2"))
	if a != b {
		t.Errorf("marker depends on order or spelling: %q vs %q", a, b)
	}
	if !containsLine("text\r\n"+a+"\r\n", a) || containsLine("x "+a, a) {
		t.Error("containsLine")
	}
	if c := marker(mustRefs(t, "ghcr.io/acme/api:v1")); c == a {
		t.Error("different image sets share a marker")
	}
}

// TestTemplatesNameWhatChanged: an image found nowhere does not name the
// branch, the title or the commit.
func TestTemplatesNameWhatChanged(t *testing.T) {
	refs := mustRefs(t, "ghcr.io/acme/api:v1.2.3", "ghcr.io/acme/ghost:v9")
	res := &manifest.Result{Changes: []manifest.Change{
		{File: "a.yaml", Line: 1, Image: "ghcr.io/acme/api", From: "v1.2.2", To: "v1.2.3"},
	}}
	d := newTemplateData(refs, CI{}, res, "main")
	branch, err := render("branch", "", defaultBranch, d)
	if err != nil || branch != "bump/api" {
		t.Errorf("branch = %q, %v; want bump/api", branch, err)
	}
	if got := d.Subject(); got != "ghcr.io/acme/api to v1.2.3" {
		t.Errorf("subject = %q", got)
	}
	if len(d.Images) != 1 {
		t.Errorf("images = %v", d.Images)
	}
}

// A promotion's defaults name both environments and each image's old and
// new version; a plain bump's stay as they were.
func TestPromotionDefaults(t *testing.T) {
	res := &manifest.Result{Changes: []manifest.Change{{File: "prod/api.yaml", Line: 3, Image: "ghcr.io/acme/api", From: "v1.0.0", To: "v1.1.0"}}}
	d := newTemplateData(mustRefs(t, "ghcr.io/acme/api:v1.1.0"), CI{}, res, "main")
	d.Promotion = Promotion{From: "staging", To: "production"}
	for name, want := range map[string]string{
		"branch": "promote/staging-to-production",
		"title":  "chore(deploy): promote ghcr.io/acme/api to v1.1.0 from staging to production",
		"body":   "- ghcr.io/acme/api: v1.0.0 → v1.1.0",
	} {
		got, err := render(name, "", fallback(name, d), d)
		if err != nil || !strings.Contains(got, want) {
			t.Errorf("%s = %q, %v; want it to contain %q", name, got, err, want)
		}
	}
	d.Promotion = Promotion{}
	if got, _ := render("branch", "", fallback("branch", d), d); got != "bump/api" {
		t.Errorf("plain bump branch = %q", got)
	}
}
