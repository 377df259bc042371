package manifest

import (
	"cmp"
	"context"
	"errors"
	"io/fs"
	"slices"
	"strings"

	"github.com/bump-gitops/bump/internal/imageref"
)

// FindOptions says which image references to report and where.
type FindOptions struct {
	// Images are the repositories to look for; only their names count, a
	// tag or digest is ignored. Empty means every image reference the
	// rules recognise (image fields, Helm maps, kustomize and Argo CD
	// images entries, "# bump:" markers).
	Images      []imageref.Ref
	Paths       []string // relative roots inside the tree; empty = whole tree
	SkipInvalid bool     // malformed YAML is a Skip, not an error
	MaxFileSize int64    // 0 = DefaultMaxFileSize
}

// Reference is one image reference in a file and the version it holds.
type Reference struct {
	File   string `json:"file"`             // slash path relative to the tree root
	Line   int    `json:"line"`             // 1-based, as Change.Line for the same reference
	Image  string `json:"image"`            // familiar name, e.g. "ghcr.io/acme/api"
	Tag    string `json:"tag,omitempty"`    // as written; empty when there is none
	Digest string `json:"digest,omitempty"` // "sha256:…" as written; empty when there is none
}

// Version is the reference's tag and/or digest (see imageref.JoinVersion),
// as Change.From spells it.
func (r Reference) Version() string { return imageref.JoinVersion(r.Tag, r.Digest) }

// Found is what a Find saw, as plain data.
type Found struct {
	References []Reference // sorted by file, line
	Skipped    []Skip      // sorted by file, line
	// NotFound lists the images of FindOptions.Images (familiar names)
	// that no reference names.
	NotFound []string
}

// Versions returns the versions the references to image (a familiar name)
// hold, each once, in the order they first appear.
func (f *Found) Versions(image string) []string {
	var out []string
	for _, r := range f.References {
		if v := r.Version(); r.Image == image && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// Find reports the image references in fsys and the versions they hold,
// reading the files as Rewrite does (same rules, walk, limits and errors)
// and changing nothing. Malformed YAML that refers to one of the images
// (with no Images: any malformed YAML file) fails the scan unless
// opts.SkipInvalid is set. Find is safe to call concurrently.
func Find(ctx context.Context, fsys fs.FS, opts FindOptions) (*Found, error) {
	e, err := newFinder(opts)
	if err != nil {
		return nil, err
	}
	t, err := e.scan(ctx, fsys, opts.Paths)
	if err != nil {
		return nil, err
	}
	found := &Found{References: t.refs, NotFound: t.notFound(e)}
	slices.SortStableFunc(found.References, func(a, b Reference) int {
		return cmp.Or(strings.Compare(a.File, b.File), a.Line-b.Line)
	})
	found.Skipped, _ = splitWarnings(sortSkips(t.skips))
	return found, nil
}

// newFinder is the engine of a Find: targets need only a name.
func newFinder(opts FindOptions) (*engine, error) {
	e := &engine{
		opts:  Options{Paths: opts.Paths, SkipInvalid: opts.SkipInvalid, MaxFileSize: opts.MaxFileSize},
		find:  true,
		every: len(opts.Images) == 0,
	}
	for _, r := range opts.Images {
		if r.Name == "" {
			return nil, errors.New("find: an image without a name")
		}
		r = imageref.Ref{Name: r.Name}
		e.targets = append(e.targets, target{index: len(e.targets), ref: r, image: r.Familiar(), token: []byte(r.Path())})
	}
	return e, nil
}
