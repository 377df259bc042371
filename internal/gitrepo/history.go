package gitrepo

import (
	"context"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// LastCommitTouching walks the first-parent history back from commit, at
// most limit commits, and returns the message of the newest commit that
// changed path and whose message match accepts. A shallow clone ends the
// walk where its history ends; found is false then, not an error.
func (r *Repo) LastCommitTouching(ctx context.Context, commit, path string, limit int, match func(message string) bool) (message string, found bool, err error) {
	h := plumbing.NewHash(commit)
	for range limit {
		if err := ctx.Err(); err != nil {
			return "", false, err
		}
		c, err := r.repo.CommitObject(h)
		if err != nil {
			if h.String() == commit {
				return "", false, fmt.Errorf("read commit %s: %w", short(commit), err)
			}
			return "", false, nil // the history of a shallow clone ends here
		}
		blob := fileHash(c, path)
		var parent *object.Commit
		if len(c.ParentHashes) > 0 {
			parent, _ = r.repo.CommitObject(c.ParentHashes[0])
		}
		changed := parent == nil || fileHash(parent, path) != blob
		if changed && !blob.IsZero() && match(c.Message) {
			return c.Message, true, nil
		}
		if parent == nil {
			return "", false, nil
		}
		h = parent.Hash
	}
	return "", false, nil
}

// fileHash is the blob hash of path in c, zero when it has none.
func fileHash(c *object.Commit, path string) plumbing.Hash {
	tree, err := c.Tree()
	if err != nil {
		return plumbing.ZeroHash
	}
	e, err := tree.FindEntry(path)
	if err != nil {
		return plumbing.ZeroHash
	}
	return e.Hash
}
