package bump

import (
	"fmt"
	"io/fs"
	"strings"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/bump-gitops/bump/internal/manifest"
)

// unifiedDiff renders the changed files against their originals in fsys.
func unifiedDiff(fsys fs.FS, files []manifest.File) (string, error) {
	var b strings.Builder
	for _, f := range files {
		old, err := fs.ReadFile(fsys, f.Path)
		if err != nil {
			return "", fmt.Errorf("diff %s: %w", f.Path, err)
		}
		d := difflib.UnifiedDiff{
			A:        splitLines(string(old)),
			B:        splitLines(string(f.Data)),
			FromFile: "a/" + f.Path,
			ToFile:   "b/" + f.Path,
			Context:  3,
		}
		if err := difflib.WriteUnifiedDiff(&b, d); err != nil {
			return "", fmt.Errorf("diff %s: %w", f.Path, err)
		}
	}
	return b.String(), nil
}

// splitLines keeps line ends (a CRLF file diffs as CRLF) and adds no empty
// last line, as difflib.SplitLines would.
func splitLines(s string) []string {
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else {
		lines[len(lines)-1] += "\n\\ No newline at end of file\n"
	}
	return lines
}
