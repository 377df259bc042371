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

// History is the commits behind the base an attempt starts from.
type History interface {
	// LastCommit is the message of the newest commit that changed path
	// and that match accepts; found is false when a bounded walk finds none.
	LastCommit(ctx context.Context, path string, match func(message string) bool) (message string, found bool, err error)
}

// Origin is where a version came from: the links the commit that put it
// there recorded.
type Origin struct{ Source, Pipeline string }

// HistorySource is a Source that can also tell where its images came from
// (a promotion reads the trailers of the commits that bumped the source
// environment). A plain bump's Fixed is not one, and its flow is unchanged.
type HistorySource interface {
	Source
	// Origins is keyed by OriginKey of the refs Images returned; an image
	// without a known origin is absent.
	Origins(ctx context.Context, tree fs.FS, h History, refs []imageref.Ref) (map[string]Origin, error)
}

// OriginKey names an image at a version: its familiar name and version.
func OriginKey(ref imageref.Ref) string {
	return ref.Familiar() + " " + ref.Version()
}

// historyLimit bounds the walk for an origin, so a long history costs a
// bounded time; a version older than that simply shows no links.
const historyLimit = 500

// baseHistory is the first-parent history of one commit of a repository.
type baseHistory struct {
	repo interface {
		LastCommitTouching(ctx context.Context, commit, path string, limit int, match func(string) bool) (string, bool, error)
	}
	commit string
}

func (h baseHistory) LastCommit(ctx context.Context, path string, match func(string) bool) (string, bool, error) {
	return h.repo.LastCommitTouching(ctx, h.commit, path, historyLimit, match)
}

// historyDepth is how much history a clone fetches: the tip alone, unless
// the source reads history, which then sees up to historyLimit commits.
func historyDepth(src Source) int {
	if _, ok := src.(HistorySource); ok {
		return historyLimit
	}
	return 1
}
