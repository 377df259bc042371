package bump

import (
	"bytes"
	"fmt"
	"io/fs"
	"strings"

	"github.com/rogpeppe/go-internal/diff"

	"github.com/bump-gitops/bump/internal/manifest"
)

// unifiedDiff renders the changed files against their originals in fsys.
// go-internal's diff (Go's own internal/diff) is an anchored diff: it runs
// in O(n log n), keeps line ends (a CRLF file diffs as CRLF) and marks a
// missing final newline as diff(1) does.
func unifiedDiff(fsys fs.FS, files []manifest.File) (string, error) {
	var b strings.Builder
	for _, f := range files {
		old, err := fs.ReadFile(fsys, f.Path)
		if err != nil {
			return "", fmt.Errorf("diff %s: %w", f.Path, err)
		}
		d := diff.Diff("a/"+f.Path, old, "b/"+f.Path, f.Data)
		// Its first line is "diff a/x b/x", which is not part of a unified
		// diff (and which git would read as a malformed "diff --git").
		if i := bytes.IndexByte(d, '\n'); i >= 0 && bytes.HasPrefix(d, []byte("diff ")) {
			d = d[i+1:]
		}
		b.Write(d)
	}
	return b.String(), nil
}
