package packaging

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"sigs.k8s.io/yaml"
)

func readString(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestNoPlaceholder: every tracked file names the project by its real name
// (the spec copies in testdata/forge-specs are third-party text).
func TestNoPlaceholder(t *testing.T) {
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	placeholder := regexp.MustCompile(`\bOWNER\b|<owner>`)
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if strings.HasPrefix(name, "testdata/forge-specs/") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			continue // deleted in the worktree
		}
		if loc := placeholder.FindIndex(data); loc != nil {
			line := bytes.Count(data[:loc[0]], []byte("\n")) + 1
			t.Errorf("%s:%d: placeholder %q", name, line, data[loc[0]:loc[1]])
		}
	}
}

var fence = regexp.MustCompile("(?s)```ya?ml\n(.*?)```")

// yamlBlocks returns the ```yaml blocks of a Markdown file that contain want.
func yamlBlocks(t *testing.T, path, want string) []string {
	t.Helper()
	var out []string
	for _, m := range fence.FindAllStringSubmatch(readString(t, path), -1) {
		if strings.Contains(m[1], want) {
			out = append(out, m[1])
		}
	}
	return out
}

// workflows are every workflow a user or the release runs, by name: the
// repository's own, the sample the README describes, and the README's and
// docs' examples with the published action swapped for the one in this tree.
func workflows(t *testing.T) map[string]string {
	t.Helper()
	wf := map[string]string{}
	files, _ := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.yml"))
	if len(files) == 0 {
		t.Fatal("no workflows in .github/workflows")
	}
	files = append(files, filepath.Join(root, "testdata", "action", "workflow.yml"))
	for _, f := range files {
		wf[filepath.Base(filepath.Dir(f))+"-"+filepath.Base(f)] = readString(t, f)
	}
	for _, doc := range []string{"README.md", filepath.Join("docs", "ci.md")} {
		blocks := yamlBlocks(t, filepath.Join(root, doc), "uses: bump-gitops/bump@v1")
		if len(blocks) == 0 {
			t.Errorf("%s has no workflow using bump-gitops/bump@v1", doc)
		}
		for i, b := range blocks {
			wf[strings.ReplaceAll(doc, "/", "-")+"-"+string(rune('a'+i))+".yml"] = strings.ReplaceAll(b, "uses: bump-gitops/bump@v1", "uses: ./")
		}
	}
	return wf
}

// TestWorkflowsLint runs actionlint over every workflow (the sample in
// testdata/action among them), in a project that holds action.yml, so
// `uses: ./` checks the inputs against it.
func TestWorkflowsLint(t *testing.T) {
	proj := t.TempDir()
	dir := filepath.Join(proj, ".github", "workflows")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proj, "action.yml"), []byte(readString(t, filepath.Join(root, "action.yml"))), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	l, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := actionlint.NewProject(proj)
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range workflows(t) {
		out.Reset()
		errs, err := l.Lint(filepath.Join(dir, name), []byte(src), p)
		if err != nil {
			t.Fatal(err)
		}
		if len(errs) > 0 {
			t.Errorf("actionlint %s:\n%s", name, out.String())
		}
	}
	// It can fail: an undeclared input of the action is reported.
	bad := "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ./\n        with: {image: x, pathz: y}\n"
	if errs, _ := l.Lint(filepath.Join(dir, "bad.yml"), []byte(bad), p); len(errs) == 0 {
		t.Error("actionlint accepted an undeclared input")
	}
	// And so is one in the sample workflow, with its paths input misspelled.
	sample := strings.Replace(readString(t, filepath.Join(root, "testdata", "action", "workflow.yml")), "paths: ", "pathz: ", 1)
	errs, err := l.Lint(filepath.Join(dir, "release.yml"), []byte(sample), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) == 0 {
		t.Error("actionlint accepted an undeclared input in the sample workflow")
	}
}

type step struct {
	Name string            `json:"name"`
	Run  string            `json:"run"`
	Env  map[string]string `json:"env"`
}

// TestNoExpressionInRun: no script pastes ${{ }} into its text; values reach
// it through env:, so a branch or file name cannot become shell code.
func TestNoExpressionInRun(t *testing.T) {
	check := func(name string, steps []step) {
		for i, s := range steps {
			if strings.Contains(s.Run, "${{") {
				t.Errorf("%s: step %d (%s) has an expression in run:\n%s", name, i, s.Name, s.Run)
			}
		}
	}
	for name, src := range workflows(t) {
		var w struct {
			Jobs map[string]struct {
				Steps []step `json:"steps"`
			} `json:"jobs"`
		}
		if err := yaml.Unmarshal([]byte(src), &w); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, j := range w.Jobs {
			check(name, j.Steps)
		}
	}
	var a struct {
		Runs struct {
			Steps []step `json:"steps"`
		} `json:"runs"`
	}
	if err := yaml.Unmarshal([]byte(readString(t, filepath.Join(root, "action.yml"))), &a); err != nil {
		t.Fatal(err)
	}
	check("action.yml", a.Runs.Steps)
}

// TestGitLabExamples: the docs' pipelines never build an image reference from
// CI_COMMIT_TAG, which is empty on branch pipelines (invalid reference format).
func TestGitLabExamples(t *testing.T) {
	for _, doc := range []string{"README.md", filepath.Join("docs", "ci.md"), ".gitlab-ci-template.yml"} {
		var blocks []string
		if strings.HasSuffix(doc, ".md") {
			blocks = yamlBlocks(t, filepath.Join(root, doc), "extends: .bump")
			if len(blocks) == 0 {
				t.Errorf("%s has no pipeline extending .bump", doc)
			}
		} else {
			blocks = []string{readString(t, filepath.Join(root, doc))}
		}
		for _, b := range blocks {
			if regexp.MustCompile(`BUMP_IMAGE:.*CI_COMMIT_TAG`).MatchString(b) {
				t.Errorf("%s: BUMP_IMAGE built from CI_COMMIT_TAG", doc)
			}
			if strings.Contains(b, "include:") && !strings.Contains(b, "bump-gitops/bump/v1/.gitlab-ci-template.yml") {
				t.Errorf("%s: includes the template from elsewhere than the v1 release", doc)
			}
		}
	}
}
