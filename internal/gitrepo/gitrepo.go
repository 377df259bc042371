// Package gitrepo is bump's only user of go-git. It clones a manifests
// repository into memory (no work tree, so nothing is written to disk and
// nothing is left behind; the pack stays compressed, see newStore), reads trees through io/fs, builds a commit as
// objects, and pushes it with a lease. Errors never carry a credential.
package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Sentinel errors, wrapped with what was being done.
var (
	// ErrRejected means the server refused a push because the ref moved:
	// another run won the race. Retrying from the new tip is safe.
	ErrRejected = errors.New("push rejected: the branch moved")
	ErrAuth     = errors.New("authentication failed")
	ErrNotFound = errors.New("repository not found")
	// ErrTransient means the server or the network failed (a 5xx, a
	// dropped connection): the same request may well succeed again.
	ErrTransient = errors.New("git server unavailable")
	// ErrUnreachable means the host could not be reached at all (no such
	// host, connection refused): usually a wrong URL or a network policy.
	ErrUnreachable = errors.New("cannot reach")
)

// Identity is a commit author (also used as committer).
type Identity struct{ Name, Email string }

// CloneOptions says what to clone.
type CloneOptions struct {
	URL    string
	Auth   Auth
	Branch string // base branch; empty means the remote's default branch
	// Secrets are extra strings to scrub from errors; the password is always scrubbed.
	Secrets []string
	// Depth is how many commits of history to fetch; 0 means 1, the tip
	// alone. A run that reads history (a promotion) asks for more.
	Depth int
}

// Repo is a clone held in memory, or an opened local checkout.
type Repo struct {
	repo    *git.Repository
	url     string
	auth    transport.AuthMethod
	secrets []string

	base       string
	baseCommit plumbing.Hash
	local      bool // an opened checkout: commits go to local refs

	mu sync.Mutex
	// written holds, per commit made by Commit, every object it created:
	// exactly what a push of that commit must send.
	written map[plumbing.Hash][]plumbing.Hash
}

const remoteName = "origin"

// Clone makes a shallow, single-branch clone of one branch into memory.
// Without a branch it follows the remote's HEAD; a remote that advertises
// no HEAD (its default branch is unborn or hidden) falls back to main,
// then master.
func Clone(ctx context.Context, opts CloneOptions) (*Repo, error) {
	auth, err := opts.Auth.method(opts.URL)
	if err != nil {
		return nil, err
	}
	r := &Repo{url: opts.URL, auth: auth, secrets: append(opts.Auth.secrets(), opts.Secrets...)}
	if u, err := url.Parse(opts.URL); err == nil {
		if pw, ok := u.User.Password(); ok {
			r.secrets = append(r.secrets, pw)
		}
	}
	what := "clone " + redact(opts.URL)
	candidates := []plumbing.ReferenceName{plumbing.HEAD, plumbing.Main, plumbing.Master}
	if opts.Branch != "" {
		candidates = []plumbing.ReferenceName{plumbing.NewBranchReferenceName(opts.Branch)}
	}
	var repo *git.Repository
	for _, ref := range candidates {
		repo, err = git.CloneContext(ctx, newStore(), nil, &git.CloneOptions{
			URL:           opts.URL,
			Auth:          auth,
			RemoteName:    remoteName,
			ReferenceName: ref,
			SingleBranch:  true,
			Depth:         max(opts.Depth, 1),
			NoCheckout:    true,
			Tags:          git.NoTags,
		})
		if !missingRef(err) {
			break
		}
	}
	if missingRef(err) {
		if opts.Branch != "" {
			return nil, fmt.Errorf("%s: branch %s does not exist", what, opts.Branch)
		}
		return nil, fmt.Errorf("%s: the remote has no default branch, nor main or master: pass the base branch", what)
	}
	if err != nil {
		return nil, r.wrap(what, err)
	}
	r.repo = repo
	head, err := repo.Head()
	if err != nil {
		return nil, r.wrap(what+": resolve HEAD", err)
	}
	if !head.Name().IsBranch() {
		return nil, fmt.Errorf("%s: HEAD is not a branch", what)
	}
	r.base, r.baseCommit = head.Name().Short(), head.Hash()
	return r, nil
}

// missingRef reports whether a clone failed because the remote does not
// advertise the ref asked for.
func missingRef(err error) bool {
	return errors.Is(err, git.NoMatchingRefSpecError{}) || errors.Is(err, plumbing.ErrReferenceNotFound)
}

// Open opens the checkout in dir, whose current branch becomes the base.
func Open(ctx context.Context, dir string, auth Auth) (*Repo, error) {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return nil, fmt.Errorf("open git checkout %s: %w", dir, err)
	}
	head, err := repo.Head()
	if err != nil {
		return nil, fmt.Errorf("open git checkout %s: %w", dir, err)
	}
	if !head.Name().IsBranch() {
		return nil, fmt.Errorf("open git checkout %s: HEAD is detached; check out a branch first", dir)
	}
	r := &Repo{repo: repo, local: true, base: head.Name().Short(), baseCommit: head.Hash(), secrets: auth.secrets()}
	if rem, err := repo.Remote(remoteName); err == nil && len(rem.Config().URLs) > 0 {
		r.url = rem.Config().URLs[0]
		if r.auth, err = auth.method(r.url); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// BaseBranch is the branch the clone follows.
func (r *Repo) BaseBranch() string { return r.base }

// BaseCommit is the hash of the base branch's tip as last fetched.
func (r *Repo) BaseCommit() string { return r.baseCommit.String() }

// TreeFS returns a read-only view of a commit's tree.
func (r *Repo) TreeFS(commit string) (*TreeFS, error) {
	c, err := r.repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", short(commit), err)
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of %s: %w", short(commit), err)
	}
	return newTreeFS(tree), nil
}

// Parents returns the parent hashes of a commit; a shallow clone knows them
// even though it lacks their objects.
func (r *Repo) Parents(commit string) ([]string, error) {
	c, err := r.repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", short(commit), err)
	}
	out := make([]string, len(c.ParentHashes))
	for i, h := range c.ParentHashes {
		out[i] = h.String()
	}
	return out, nil
}

// FetchBranch fetches the tip of a remote branch (depth 1) so that its tree
// can be read. Fetching the base branch also moves BaseCommit, which is how
// a retry starts again from the newest base.
func (r *Repo) FetchBranch(ctx context.Context, branch string) (commit string, exists bool, err error) {
	if r.url == "" {
		return "", false, errors.New("fetch: the checkout has no origin remote")
	}
	// Over stateless HTTP the ref advertisement and the object request are
	// two requests; a push landing between them makes the server refuse
	// the now-unadvertised tip ("not our ref"). Asking again is the cure.
	for attempt := 1; ; attempt++ {
		commit, exists, err = r.fetchBranch(ctx, branch)
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "not our ref") {
			return commit, exists, err
		}
	}
}

func (r *Repo) fetchBranch(ctx context.Context, branch string) (string, bool, error) {
	head, exists, err := r.RemoteHead(ctx, branch)
	if err != nil || !exists {
		return "", exists, err
	}
	hash := plumbing.NewHash(head)
	if _, err := r.repo.CommitObject(hash); err != nil {
		tracking := plumbing.NewRemoteReferenceName(remoteName, branch)
		spec := config.RefSpec(fmt.Sprintf("+%s:%s", plumbing.NewBranchReferenceName(branch), tracking))
		err := r.repo.FetchContext(ctx, &git.FetchOptions{
			RemoteName: remoteName,
			RemoteURL:  r.url,
			RefSpecs:   []config.RefSpec{spec},
			Auth:       r.auth,
			Depth:      1,
			Tags:       git.NoTags,
			Force:      true,
		})
		if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
			return "", false, r.wrap("fetch "+branch, err)
		}
		ref, err := r.repo.Reference(tracking, true)
		if err != nil {
			return "", false, r.wrap("fetch "+branch, err)
		}
		hash = ref.Hash()
	}
	if branch == r.base {
		r.baseCommit = hash
	}
	return hash.String(), true, nil
}

// RemoteHead asks the remote where a branch points, without fetching.
func (r *Repo) RemoteHead(ctx context.Context, branch string) (commit string, exists bool, err error) {
	rem, err := r.repo.Remote(remoteName)
	if err != nil {
		return "", false, fmt.Errorf("list %s: %w", branch, err)
	}
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: r.auth})
	if err != nil {
		return "", false, r.wrap("list remote branches", err)
	}
	want := plumbing.NewBranchReferenceName(branch)
	for _, ref := range refs {
		if ref.Name() == want {
			return ref.Hash().String(), true, nil
		}
	}
	return "", false, nil
}

// Push makes the remote branch point at commit, provided it still points
// at expected ("" meaning it must not exist). The expected value travels
// in the push itself, so the server refuses atomically if another run
// moved the branch; that comes back as ErrRejected.
func (r *Repo) Push(ctx context.Context, commit, branch, expected string) error {
	if r.url == "" {
		return errors.New("push: the checkout has no origin remote")
	}
	what := "push " + branch
	r.mu.Lock()
	objects, known := r.written[plumbing.NewHash(commit)]
	objects = slices.Clone(objects)
	r.mu.Unlock()
	if known && !r.local {
		err := r.pushObjects(ctx, objects, plumbing.NewHash(commit), plumbing.NewBranchReferenceName(branch), plumbing.NewHash(expected))
		if err != nil {
			return r.wrap(what, err)
		}
		return nil
	}
	// go-git pushes from a local ref and checks the lease against the
	// remote-tracking ref, so both are set to what this push means.
	src := plumbing.ReferenceName("refs/bump/push/" + branch)
	if err := r.repo.Storer.SetReference(plumbing.NewHashReference(src, plumbing.NewHash(commit))); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer r.repo.Storer.RemoveReference(src)
	dst := plumbing.NewBranchReferenceName(branch)
	lease := &git.ForceWithLease{RefName: dst}
	tracking := plumbing.ReferenceName("refs/remotes/" + remoteName + "/" + strings.TrimPrefix(src.String(), "refs/heads/"))
	want := plumbing.ZeroHash
	if expected != "" {
		want = plumbing.NewHash(expected)
		lease.Hash = want
	}
	if err := r.repo.Storer.SetReference(plumbing.NewHashReference(tracking, want)); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer r.repo.Storer.RemoveReference(tracking)

	err := r.repo.PushContext(ctx, &git.PushOptions{
		RemoteName:     remoteName,
		RemoteURL:      r.url,
		RefSpecs:       []config.RefSpec{config.RefSpec(fmt.Sprintf("+%s:%s", src, dst))},
		Auth:           r.auth,
		ForceWithLease: lease,
	})
	if errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil
	}
	if err != nil {
		return r.wrap(what, err)
	}
	if r.local {
		// Keep the checkout's view of the remote honest.
		_ = r.repo.Storer.SetReference(plumbing.NewHashReference(plumbing.NewRemoteReferenceName(remoteName, branch), plumbing.NewHash(commit)))
	}
	return nil
}

func commitObject(repo *git.Repository, hash string) (*object.Commit, error) {
	return repo.CommitObject(plumbing.NewHash(hash))
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
