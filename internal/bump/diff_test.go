package bump

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/bump-gitops/bump/internal/manifest"
)

// TestUnifiedDiffApplies checks that --dry-run's diff is a plain unified
// diff: `git apply` turns each original into the rewritten file.
func TestUnifiedDiffApplies(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	long := strings.Repeat("x: 1\n", 20)
	cases := map[string][2]string{
		"one-line":          {"image: a:v1\n", "image: a:v2\n"},
		"first-and-last":    {"image: a:v1\n" + long + "image: b:v1\n", "image: a:v2\n" + long + "image: b:v2\n"},
		"no-final-newline":  {"a: 1\nimage: a:v1", "a: 1\nimage: a:v2"},
		"crlf":              {"a: 1\r\nimage: a:v1\r\nb: 2\r\n", "a: 1\r\nimage: a:v2\r\nb: 2\r\n"},
		"repeated-context":  {long + "image: a:v1\n" + long, long + "image: a:v2\n" + long},
		"line-added":        {"a: 1\nimage: a:v1\n", "a: 1\nimage: a:v1\ndigest: sha256:00\n"},
		"gains-final-newln": {"image: a:v1", "image: a:v2\n"},
	}
	fsys := fstest.MapFS{}
	var files []manifest.File
	for name, c := range cases {
		p := "deploy/" + name + ".yaml"
		fsys[p] = &fstest.MapFile{Data: []byte(c[0])}
		files = append(files, manifest.File{Path: p, Data: []byte(c[1])})
	}
	d, err := unifiedDiff(fsys, files)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(d, "\n") {
		if strings.HasPrefix(l, "diff ") {
			t.Errorf("diff has a %q line; want a plain unified diff", l)
		}
	}
	dir := t.TempDir()
	for p, f := range fsys {
		write(t, filepath.Join(dir, p), f.Data)
	}
	write(t, filepath.Join(dir, "change.patch"), []byte(d))
	cmd := exec.Command("git", "apply", "--whitespace=nowarn", "change.patch")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git apply: %v\n%s\n%s", err, out, d)
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(dir, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(f.Data) {
			t.Errorf("%s after git apply = %q, want %q", f.Path, got, f.Data)
		}
	}
}

func TestUnifiedDiffHunk(t *testing.T) {
	fsys := fstest.MapFS{"a.yaml": {Data: []byte("a: 1\nimage: a:v1\nb: 2\n")}}
	d, err := unifiedDiff(fsys, []manifest.File{{Path: "a.yaml", Data: []byte("a: 1\nimage: a:v2\nb: 2\n")}})
	if err != nil {
		t.Fatal(err)
	}
	want := "--- a/a.yaml\n+++ b/a.yaml\n@@ -1,3 +1,3 @@\n a: 1\n-image: a:v1\n+image: a:v2\n b: 2\n"
	if d != want {
		t.Errorf("diff = %q, want %q", d, want)
	}
}

// TestNoUnmaintainedDiffLibrary keeps github.com/pmezard/go-difflib (no
// release since 2016) out of the bump binary.
func TestNoUnmaintainedDiffLibrary(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/bump-gitops/bump/cmd/bump").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/pmezard/go-difflib") {
			t.Errorf("bump links %s", pkg)
		}
	}
}

func write(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
