package bump

import (
	"context"
	"errors"
	"io/fs"

	"github.com/bump-gitops/bump/internal/imageref"
)

// Source says which images a run bumps. It is asked on every attempt with
// the tree that attempt rewrites, so a source that reads the tree (the
// versions of another environment, for a promotion) sees the same base as
// the rewrite.
type Source interface {
	Images(ctx context.Context, tree fs.FS) ([]imageref.Ref, error)
}

// Fixed is a Source that always gives the same images: --image.
type Fixed []imageref.Ref

// Images returns the list, whatever the tree holds.
func (f Fixed) Images(context.Context, fs.FS) ([]imageref.Ref, error) {
	return f, nil
}

// images asks the source for this tree's images; a source that names none
// leaves nothing to bump, which is the caller's mistake.
func images(ctx context.Context, src Source, tree fs.FS) ([]imageref.Ref, error) {
	refs, err := src.Images(ctx, tree)
	if err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		return nil, errors.New("no image given")
	}
	return refs, nil
}
