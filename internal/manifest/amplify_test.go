package manifest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/bump-gitops/bump/internal/imageref"
	"github.com/bump-gitops/bump/internal/rsstest"
)

// amplifyingTree is eight files just under the size cap that each mention
// the image once and are otherwise made of what costs a YAML parser the
// most per byte: tiny documents ("---\na: 1\n" repeated), or one long flow
// sequence of one-letter scalars (8 MiB of it, or as much as bump will
// parse, in three files). Parsed whole, side by side, their node
// trees took gigabytes; a deployment beside them must still be bumped.
func amplifyingTree(shape string) fstest.MapFS {
	fsys := fstest.MapFS{
		"deploy.yaml": {Data: []byte("spec:\n  containers:\n    - image: ghcr.io/acme/api:v1.0.0\n")},
	}
	files := 8
	if shape == "flow-under-cap" {
		files = 3 // enough to exceed the bound if parsed side by side
	}
	for i := range files {
		var b bytes.Buffer
		switch shape {
		case "documents":
			b.WriteString("image: ghcr.io/acme/api:v1.0.0\n")
			for b.Len() < DefaultMaxFileSize-16 {
				b.WriteString("---\na: 1\n")
			}
		case "flow", "flow-under-cap":
			size := DefaultMaxFileSize - 16
			if shape == "flow-under-cap" {
				size = 2*maxNodes - 64 // the most nodes bump parses in one file
			}
			b.WriteString("image: ghcr.io/acme/api:v1.0.0\nlist: [a")
			for b.Len() < size {
				b.WriteString(",a")
			}
			b.WriteString("]\n")
		}
		fsys[fmt.Sprintf("amp/%s-%d.yaml", shape, i)] = &fstest.MapFile{Data: b.Bytes()}
	}
	return fsys
}

func rewriteAmplifying(t *testing.T, shape string) *Result {
	ref, err := imageref.Parse("ghcr.io/acme/api:v1.0.1")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Rewrite(context.Background(), amplifyingTree(shape), Options{Images: []imageref.Ref{ref}})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range res.Files {
		paths = append(paths, f.Path)
	}
	if !slices.Contains(paths, "deploy.yaml") {
		t.Fatalf("deploy.yaml not rewritten (rewrote %v)", paths)
	}
	return res
}

// TestYAMLAmplificationBoundedMemory runs each shape in a child process
// whose peak resident set must stay under 1 GiB.
func TestYAMLAmplificationBoundedMemory(t *testing.T) {
	const limit = 1 << 30
	if rsstest.Child(t, limit) {
		res := rewriteAmplifying(t, os.Getenv("AMPLIFY_SHAPE"))
		for _, s := range res.Skipped {
			t.Logf("skipped %s: %s", s.File, s.Reason)
		}
		return
	}
	for _, shape := range []string{"documents", "flow", "flow-under-cap"} {
		peak := rsstest.Run(t, limit, "AMPLIFY_SHAPE="+shape)
		t.Logf("%s: peak resident set %d MiB", shape, peak>>20)
	}
}

// BenchmarkRewriteAmplifying times a rewrite of each amplifying tree.
func BenchmarkRewriteAmplifying(b *testing.B) {
	ref, err := imageref.Parse("ghcr.io/acme/api:v1.0.1")
	if err != nil {
		b.Fatal(err)
	}
	for _, shape := range []string{"documents", "flow", "flow-under-cap"} {
		b.Run(shape, func(b *testing.B) {
			fsys := amplifyingTree(shape)
			var peak uint64
			for range b.N {
				peak = max(peak, peakHeap(func() {
					if _, err := Rewrite(context.Background(), fsys, Options{Images: []imageref.Ref{ref}}); err != nil {
						b.Fatal(err)
					}
				}))
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

// TestRewriteSkipsAmplifyingFiles: a file just over the document or node
// cap is skipped with the reason; one just under the document cap is
// rewritten (one just under the node cap too, but its parse is slow under
// the race detector: only its count is checked).
func TestRewriteSkipsAmplifyingFiles(t *testing.T) {
	ref, err := imageref.Parse("ghcr.io/acme/api:v1.0.1")
	if err != nil {
		t.Fatal(err)
	}
	image := "image: ghcr.io/acme/api:v1.0.0\n"
	docs := func(n int) []byte { return []byte(image + strings.Repeat("---\na: 1\n", n-1)) }
	// As yamlNodes counts: the image line 3 (two ':' and '\n'), "list: ["
	// 2, each ",a" 1, "]\n" 1.
	flow := func(nodes int) []byte { return []byte(image + "list: [a" + strings.Repeat(",a", nodes-6) + "]\n") }
	fsys := fstest.MapFS{
		"docs-under.yaml": {Data: docs(maxDocuments)},
		"docs-over.yaml":  {Data: docs(maxDocuments + 1)},
		"nodes-over.yaml": {Data: flow(maxNodes + 1)},
	}
	res, err := Rewrite(context.Background(), fsys, Options{Images: []imageref.Ref{ref}})
	if err != nil {
		t.Fatal(err)
	}
	var rewritten []string
	for _, f := range res.Files {
		rewritten = append(rewritten, f.Path)
	}
	if n := yamlNodes(flow(maxNodes)); n != maxNodes {
		t.Fatalf("yamlNodes counts %d in flow(%d)", n, maxNodes)
	}
	if want := []string{"docs-under.yaml"}; !slices.Equal(rewritten, want) {
		t.Errorf("rewrote %v, want %v", rewritten, want)
	}
	want := []Skip{
		{File: "docs-over.yaml", Reason: fmt.Sprintf("more than %d YAML documents", maxDocuments)},
		{File: "nodes-over.yaml", Reason: fmt.Sprintf("more than %d YAML nodes", maxNodes)},
	}
	if !slices.Equal(res.Skipped, want) {
		t.Errorf("skipped %+v, want %+v", res.Skipped, want)
	}
}
