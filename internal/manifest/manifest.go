// Package manifest owns the rewrite of image references in a tree of
// Kubernetes manifests. It walks an io/fs.FS (a checkout on disk or a git
// tree in memory), finds image fields with kyaml, and splices the new tag or
// digest into the original bytes so nothing else in a file moves. The edits
// come back as data in a Result; writing them is the caller's choice
// (WriteFiles does it atomically for a checkout).
package manifest

import (
	"io/fs"

	"github.com/bump-gitops/bump/internal/imageref"
)

// DefaultMaxFileSize is the size above which files are skipped, so that a
// hostile repository cannot make bump read gigabytes.
const DefaultMaxFileSize = 8 << 20

// Options says what to rewrite and where.
type Options struct {
	Images         []imageref.Ref
	Paths          []string // relative roots inside the tree; empty = whole tree
	SkipInvalid    bool     // malformed YAML mentioning an image is a Skip, not an error
	AllowDowngrade bool     // allow replacing a higher version tag by a lower one
	MaxFileSize    int64    // 0 = DefaultMaxFileSize
}

func (o Options) maxFileSize() int64 {
	if o.MaxFileSize <= 0 {
		return DefaultMaxFileSize
	}
	return o.MaxFileSize
}

// Change is one rewritten reference.
type Change struct {
	File  string `json:"file"`  // slash path relative to the tree root
	Line  int    `json:"line"`  // 1-based
	Image string `json:"image"` // the target's familiar name, e.g. "ghcr.io/acme/api"
	From  string `json:"from"`  // old version as written (tag, digest or tag@digest)
	To    string `json:"to"`
}

// Skip is something bump saw and deliberately left alone, with the reason.
type Skip struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Image  string `json:"image,omitempty"`
	Reason string `json:"reason"`
	// warning marks an entry of Result.Warnings while the files are
	// planned, so both kinds travel in one list until Rewrite splits them.
	warning bool
}

// File is the full new content of a changed file.
type File struct {
	Path string      `json:"path"`
	Data []byte      `json:"-"`
	Mode fs.FileMode `json:"mode"`
}

// Result is what a rewrite would do, as plain data.
type Result struct {
	Changes []Change // sorted by file, line
	Files   []File   // one per changed file, new content, sorted by path
	Skipped []Skip   // sorted by file, line
	// Warnings are about files that were rewritten all the same and that a
	// reviewer should look at: a file that repeats a mapping key, a Helm
	// map that got the tag but has no key for the digest. Sorted by file, line.
	Warnings []Skip
	// NotFound lists the images (familiar names) that no reference in the
	// files looked at names: usually a typo or a --path that misses.
	NotFound []string
}

// splitWarnings separates the warnings from the skips, keeping the order.
func splitWarnings(all []Skip) (skips, warnings []Skip) {
	for _, s := range all {
		if s.warning {
			warnings = append(warnings, s)
		} else {
			skips = append(skips, s)
		}
	}
	return skips, warnings
}

// Changed reports whether any file changes.
func (r *Result) Changed() bool { return r != nil && len(r.Files) > 0 }
