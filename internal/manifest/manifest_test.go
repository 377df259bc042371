package manifest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/bump-gitops/bump/internal/imageref"
)

func mustRef(t testing.TB, s string) imageref.Ref {
	t.Helper()
	r, err := imageref.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func apiOpts(t testing.TB) Options {
	return Options{Images: []imageref.Ref{mustRef(t, "ghcr.io/acme/api:v1.2.3")}}
}

// laughsYAML is a billion laughs: aliases of aliases, 9^21 strings if
// expanded.
func laughsYAML() string {
	laughs := "a: &a [\"ghcr.io/acme/api:v1.2.2\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	prev := "a"
	for i, c := range "bcdefghijklmnopqrstuvwxyz" {
		if i > 20 {
			break
		}
		laughs += fmt.Sprintf("%c: &%c [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", c, c, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = string(c)
	}
	return laughs + "image: ghcr.io/acme/api:v1.2.2\n"
}

func deepBlockYAML() string {
	var deepBlock strings.Builder
	for i := range 1000 {
		deepBlock.WriteString(strings.Repeat(" ", i) + "k:\n")
	}
	deepBlock.WriteString(strings.Repeat(" ", 1000) + "image: ghcr.io/acme/api:v1.2.2\n")
	return deepBlock.String()
}

// nestedValuesYAML is values strings inside values strings: each level
// would parse the text again, so only the first is opened.
func nestedValuesYAML() string {
	var nested strings.Builder
	nested.WriteString("helm:\n  values: |\n")
	for i := range 300 {
		ind := strings.Repeat(" ", 4+4*i)
		nested.WriteString(ind + "helm:\n" + ind + "  values: |\n")
	}
	nested.WriteString(strings.Repeat(" ", 4+4*300) + "image: ghcr.io/acme/api:v1.2.2\n")
	return nested.String()
}

// Hostile inputs must end quickly with a clear skip or error, never hang or
// expand. Each runs under a deadline so a regression fails instead of hanging.
func TestHostileInput(t *testing.T) {
	laughs, deepBlock, nested := laughsYAML(), deepBlockYAML(), nestedValuesYAML()
	deepFlow := strings.Repeat("[", 20000) + "ghcr.io/acme/api:v1" + strings.Repeat("]", 20000)
	tests := []struct {
		name    string
		data    string
		changes int
		skip    string // substring of a skip reason
		err     string // substring of the error
	}{
		{name: "billion laughs", data: laughs, changes: 1},
		{name: "deep flow nesting", data: deepFlow, err: "exceeded max depth"},
		{name: "deep block nesting", data: deepBlock, changes: 1},
		{name: "nested values strings", data: nested, skip: "embedded in embedded"},
		{name: "invalid utf-8", data: "a: b\nimage: ghcr.io/acme/api:v1.2.2\xff\n", err: "k8s.yaml:2: parse yaml: invalid UTF-8"},
		{name: "nul byte", data: "image: ghcr.io/acme/api:v1.2.2\x00\n", skip: "binary file"},
		{name: "too big", data: "image: ghcr.io/acme/api:v1.2.2\n" + strings.Repeat("#", 1<<20), skip: "larger than"},
		{name: "tabs", data: "image:\tghcr.io/acme/api:v1.2.2\t# x\n", changes: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := apiOpts(t)
			opts.MaxFileSize = 1 << 20
			done := make(chan struct{})
			var (
				out     []byte
				changes []Change
				skips   []Skip
				err     error
			)
			go func() {
				defer close(done)
				out, changes, skips, err = RewriteBytes("k8s.yaml", []byte(tt.data), opts)
			}()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("RewriteBytes did not finish in 20s")
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.skip != "" {
				if len(skips) != 1 || !strings.Contains(skips[0].Reason, tt.skip) || out != nil {
					t.Fatalf("skips = %v, out = %d bytes; want one skip %q", skips, len(out), tt.skip)
				}
				return
			}
			if len(changes) != tt.changes {
				t.Fatalf("changes = %v, want %d", changes, tt.changes)
			}
			if len(out) > len(tt.data)+64 {
				t.Fatalf("output grew from %d to %d bytes", len(tt.data), len(out))
			}
			if !bytes.Contains(out, []byte("ghcr.io/acme/api:v1.2.3")) {
				t.Fatalf("new tag not written:\n%s", out)
			}
		})
	}
}

func TestRewriteErrors(t *testing.T) {
	fsys := fstest.MapFS{"a/deploy.yaml": {Data: []byte("image: ghcr.io/acme/api:v1\n")}}
	for _, tt := range []struct {
		paths []string
		err   string
	}{
		{[]string{"/etc"}, "must be relative"},
		{[]string{"../x"}, "escapes the repository"},
		{[]string{"a/../../x"}, "escapes the repository"},
		{[]string{"missing"}, "missing"},
	} {
		opts := apiOpts(t)
		opts.Paths = tt.paths
		_, err := Rewrite(context.Background(), fsys, opts)
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("paths %q: err = %v, want %q", tt.paths, err, tt.err)
		}
	}
	if _, err := Rewrite(context.Background(), fsys, Options{}); err == nil {
		t.Error("no images: want error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Rewrite(ctx, fsys, apiOpts(t)); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: err = %v", err)
	}
}

func TestRewriteSymlinkRoot(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "x.yaml"), []byte("image: ghcr.io/acme/api:v1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	opts := apiOpts(t)
	opts.Paths = []string{"link"}
	if _, err := Rewrite(context.Background(), os.DirFS(dir), opts); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("err = %v, want a symlink error", err)
	}
	opts.Paths = nil
	res, err := Rewrite(context.Background(), os.DirFS(dir), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed() || len(res.Skipped) != 1 || res.Skipped[0].File != "link" {
		t.Fatalf("directory symlink was followed or not reported: %+v", res)
	}
}

// The engine reads any fs.FS (here an in-memory tree), and concurrent runs
// over the same tree agree.
func TestRewriteConcurrent(t *testing.T) {
	fsys := fstest.MapFS{}
	for i := range 50 {
		img := "ghcr.io/acme/other:v1"
		if i%5 == 0 {
			img = "ghcr.io/acme/api:v1.2.2"
		}
		fsys[fmt.Sprintf("apps/%02d/deploy.yaml", i)] = &fstest.MapFile{Data: []byte("image: " + img + "\n"), Mode: 0o600}
	}
	var wg sync.WaitGroup
	results := make([]*Result, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Go(func() { results[i], errs[i] = Rewrite(context.Background(), fsys, apiOpts(t)) })
	}
	wg.Wait()
	for i, res := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if len(res.Files) != 10 || len(res.Changes) != 10 {
			t.Fatalf("run %d: %d files, %d changes; want 10 each", i, len(res.Files), len(res.Changes))
		}
		for j, f := range res.Files {
			if f.Mode != 0o600 || string(f.Data) != "image: ghcr.io/acme/api:v1.2.3\n" {
				t.Fatalf("run %d: file %+v", i, f)
			}
			if j > 0 && res.Files[j-1].Path >= f.Path {
				t.Fatalf("files not sorted: %s, %s", res.Files[j-1].Path, f.Path)
			}
		}
	}
}

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "victim.yaml")
	if err := os.WriteFile(outside, []byte("victim"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Dir(outside), filepath.Join(dir, "linkdir")); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"../escape.yaml", "/abs.yaml", "link.yaml", "linkdir/victim.yaml"} {
		err := WriteFiles(dir, []File{{Path: "a.yaml", Data: []byte("new"), Mode: 0o640}, {Path: bad, Data: []byte("x")}})
		if err == nil {
			t.Errorf("WriteFiles(%q) succeeded", bad)
		}
	}
	if b, _ := os.ReadFile(outside); string(b) != "victim" {
		t.Fatalf("write escaped the directory: %q", b)
	}
	// A failed batch writes nothing, and leaves no temporary files.
	if b, _ := os.ReadFile(filepath.Join(dir, "a.yaml")); string(b) != "old" {
		t.Fatalf("a failed batch changed a.yaml: %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Fatalf("leftover files: %v", entries)
	}
	if err := WriteFiles(dir, []File{{Path: "a.yaml", Data: []byte("new"), Mode: 0o640}}); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, "a.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.yaml")); string(b) != "new" || info.Mode().Perm() != 0o640 {
		t.Fatalf("a.yaml = %q, mode %v", b, info.Mode())
	}
	var _ fs.FileMode = info.Mode()
}

// The demo tree must be visibly changed by the documented command, in every
// kind of file it shows, and only there.
func TestDemoTree(t *testing.T) {
	res, err := Rewrite(context.Background(), os.DirFS("../../testdata/demo"), apiOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"apps/api/deployment.yaml": 3,
		"base/kustomization.yaml":  1,
		"charts/api/values.yaml":   1,
		"argocd/api.yaml":          1,
		"jobs/cleanup.yaml":        1,
	}
	got := map[string]int{}
	for _, c := range res.Changes {
		got[c.File]++
		if c.From != "v1.2.2" || c.To != "v1.2.3" || c.Image != "ghcr.io/acme/api" {
			t.Errorf("change %+v", c)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("changes per file = %v, want %v", got, want)
	}
	for _, f := range res.Files {
		if bytes.Contains(f.Data, []byte("ghcr.io/acme/api:v1.2.2")) || bytes.Contains(f.Data, []byte("api-worker:v1.2.3")) {
			t.Errorf("%s:\n%s", f.Path, f.Data)
		}
	}
}

// Edges of YAML held in a literal block that a text fixture hides or that
// review found: each must change exactly the tag and report the file's line.
func TestEmbeddedEdges(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
	}{
		// A BOM pasted at the start of the block: the parser steps over it,
		// the byte offsets must not.
		{"bom at block start", "helm:\n  values: |\n    \ufeffimage: ghcr.io/acme/api:v1.2.2\n", 3},
		// A marker on the header line must not claim the block for itself.
		{"marker on valuesContent", "spec:\n  valuesContent: | # bump: ghcr.io/acme/api\n    image: ghcr.io/acme/api:v1.2.2\n", 3},
		// An anchor on the key's line, the block's header on the next.
		{"header after anchor", "helm:\n  values: &v\n    |\n      image: ghcr.io/acme/api:v1.2.2\n", 4},
		// A ConfigMap as an item of a List.
		{"configmap in a list", "kind: List\nitems:\n  - kind: ConfigMap\n    data:\n      values.yaml: |\n        image: ghcr.io/acme/api:v1.2.2\n", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, changes, skips, err := RewriteBytes("a.yaml", []byte(tt.in), apiOpts(t))
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Replace(tt.in, "api:v1.2.2", "api:v1.2.3", 1)
			if string(out) != want {
				t.Fatalf("out = %q, want %q (skips %v)", out, want, skips)
			}
			if len(changes) != 1 || changes[0].Line != tt.line {
				t.Errorf("changes = %+v, want one at line %d", changes, tt.line)
			}
		})
	}
}
