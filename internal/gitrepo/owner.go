package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

// CommitInfo names one commit in an error: its hash and first line.
type CommitInfo struct {
	Hash    string
	Subject string
	// Unplaced is set when the walk could not tell whether the commit is on
	// the base: it was not within maxOwnDepth commits of it.
	Unplaced bool
}

func (c CommitInfo) String() string { return short(c.Hash) + " " + fmt.Sprintf("%q", c.Subject) }

// maxOwnDepth bounds how far the ownership walk looks: bump's own branches
// hold one commit, and a base that moved further than this since the
// branch was made is judged conservatively (the branch is left alone).
const maxOwnDepth = 256

// ForeignCommit walks the commits on head that the base branch does not
// have (those after their merge base) and returns the first one whose
// message owned rejects, or nil when bump made every one of them. A
// shallow clone is deepened, head and base alike, until the walk meets
// the base's history, up to maxOwnDepth commits; what it cannot place by
// then counts as foreign, so a branch is never rebuilt on a guess.
func (r *Repo) ForeignCommit(ctx context.Context, branch, head string, owned func(message string) bool) (*CommitInfo, error) {
	// Two rounds at most: most bases moved fewer than 32 commits since the
	// branch was made, and every round costs the server a pack.
	for depth := 32; ; depth *= 8 {
		w, err := r.walkOwned(head, owned)
		if err != nil || w.complete {
			return w.foreign, err
		}
		if r.url == "" || depth > maxOwnDepth {
			w.foreign.Unplaced = true
			return w.foreign, nil
		}
		if w.headMissing {
			if err := r.deepen(ctx, branch, depth); err != nil {
				return nil, err
			}
		}
		if !r.local {
			// A checkout has its base's history; a clone has one commit.
			if err := r.deepen(ctx, r.base, depth); err != nil {
				return nil, err
			}
		}
	}
}

// walk is how far walkOwned got.
type walk struct {
	foreign *CommitInfo // the first commit bump did not make, or nil
	// complete is false when the shallow boundary stopped the walk before
	// it could decide; foreign is then its best answer.
	complete    bool
	headMissing bool // the head's own history ran out (not only the base's)
}

// walkOwned follows head's first parents while bump owns each commit.
func (r *Repo) walkOwned(head string, owned func(string) bool) (walk, error) {
	onBase, baseComplete := r.ancestors(r.baseCommit, maxOwnDepth*2)
	h := plumbing.NewHash(head)
	for range maxOwnDepth {
		if onBase[h] {
			return walk{complete: true}, nil
		}
		c, err := r.repo.CommitObject(h)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return walk{foreign: &CommitInfo{Hash: h.String(), Subject: "(history not fetched)"}, headMissing: true}, nil
		}
		if err != nil {
			return walk{}, fmt.Errorf("read commit %s: %w", short(h.String()), err)
		}
		info := &CommitInfo{Hash: c.Hash.String(), Subject: subject(c.Message)}
		if !owned(c.Message) || len(c.ParentHashes) != 1 {
			// Not bump's: fine only if it is on the base, which a complete
			// base walk rules out.
			return walk{foreign: info, complete: baseComplete}, nil
		}
		h = c.ParentHashes[0]
	}
	return walk{foreign: &CommitInfo{Hash: h.String(), Subject: "(too far from the base)"}, complete: true}, nil
}

// ancestors is the set of commits reachable from tip that are present,
// up to limit; complete reports that no missing parent cut it short.
func (r *Repo) ancestors(tip plumbing.Hash, limit int) (map[plumbing.Hash]bool, bool) {
	seen := map[plumbing.Hash]bool{}
	queue := []plumbing.Hash{tip}
	complete := true
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		if seen[h] {
			continue
		}
		if len(seen) >= limit {
			return seen, false
		}
		c, err := r.repo.CommitObject(h)
		if err != nil {
			complete = false
			continue
		}
		seen[h] = true
		queue = append(queue, c.ParentHashes...)
	}
	return seen, complete && !r.shallowAt(seen)
}

// shallowAt reports whether any commit in set is a shallow boundary, whose
// parents the clone does not have even though the commit says it has them.
func (r *Repo) shallowAt(set map[plumbing.Hash]bool) bool {
	shallow, err := r.repo.Storer.Shallow()
	if err != nil {
		return true
	}
	for _, h := range shallow {
		if set[h] {
			return true
		}
	}
	return false
}

func subject(msg string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(msg), "\n")
	return strings.TrimSpace(line)
}

// deepen fetches depth commits of a remote branch's history.
func (r *Repo) deepen(ctx context.Context, branch string, depth int) error {
	tracking := plumbing.NewRemoteReferenceName(remoteName, branch)
	spec := config.RefSpec(fmt.Sprintf("+%s:%s", plumbing.NewBranchReferenceName(branch), tracking))
	err := r.repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: remoteName,
		RemoteURL:  r.url,
		RefSpecs:   []config.RefSpec{spec},
		Auth:       r.auth,
		Depth:      depth,
		Tags:       git.NoTags,
		Force:      true,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return r.wrap(fmt.Sprintf("fetch history of %s", branch), err)
	}
	return nil
}

// LocalBranch returns where a branch of the repository itself points.
func (r *Repo) LocalBranch(branch string) (commit string, exists bool, err error) {
	ref, err := r.repo.Storer.Reference(plumbing.NewBranchReferenceName(branch))
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read branch %s: %w", branch, err)
	}
	return ref.Hash().String(), true, nil
}

// DefaultBranch asks the remote which branch its HEAD names; "" when it
// does not say.
func (r *Repo) DefaultBranch(ctx context.Context) (string, error) {
	if r.url == "" {
		return "", nil
	}
	rem, err := r.repo.Remote(remoteName)
	if err != nil {
		return "", fmt.Errorf("list remote branches: %w", err)
	}
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: r.auth})
	if err != nil {
		return "", r.wrap("list remote branches", err)
	}
	for _, ref := range refs {
		if ref.Name() == plumbing.HEAD && ref.Type() == plumbing.SymbolicReference && ref.Target().IsBranch() {
			return ref.Target().Short(), nil
		}
	}
	return "", nil
}
