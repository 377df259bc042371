package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

// OriginURL returns the URL of the origin remote of the checkout in dir.
func OriginURL(dir string) (string, error) {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return "", fmt.Errorf("open git checkout %s: %w", dir, err)
	}
	rem, err := repo.Remote(remoteName)
	if err != nil || len(rem.Config().URLs) == 0 {
		return "", fmt.Errorf("checkout %s has no origin remote", dir)
	}
	return rem.Config().URLs[0], nil
}

// ConfiguredIdentity reads user.name and user.email from git config: the
// checkout's own (when dir is not empty), then the global one.
func ConfiguredIdentity(dir string) (Identity, bool) {
	var id Identity
	if dir != "" {
		if repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true}); err == nil {
			if cfg, err := repo.ConfigScoped(config.GlobalScope); err == nil {
				id = Identity{Name: cfg.User.Name, Email: cfg.User.Email}
			}
		}
	}
	if id.Name == "" || id.Email == "" {
		if cfg, err := config.LoadConfig(config.GlobalScope); err == nil {
			if id.Name == "" {
				id.Name = cfg.User.Name
			}
			if id.Email == "" {
				id.Email = cfg.User.Email
			}
		}
	}
	return id, id.Name != "" && id.Email != ""
}

// ValidBranchName checks a branch name as `git check-ref-format --branch`
// does, so neither a flag nor a template can produce a ref that git would
// refuse or misread. It is stricter than git in three ways: a name that
// starts with refs/ (refs/tags/v1 would become refs/heads/refs/tags/v1, a
// branch that reads as a tag), the name @ (HEAD to git) and bytes that are
// not UTF-8.
func ValidBranchName(name string) error {
	bad := func(why string) error { return fmt.Errorf("invalid branch name %q: %s", name, why) }
	switch {
	case name == "":
		return bad("empty")
	case !utf8.ValidString(name):
		return bad("not UTF-8")
	case strings.HasPrefix(name, "-"):
		return bad("starts with -")
	case strings.HasPrefix(name, "refs/"):
		return bad("starts with refs/ (give the branch's short name)")
	case strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/"):
		return bad("starts or ends with /")
	case strings.HasSuffix(name, "."):
		return bad("ends with .")
	case strings.Contains(name, ".."), strings.Contains(name, "//"), strings.Contains(name, "@{"):
		return bad("contains .., // or @{")
	case name == "@", name == "HEAD":
		return bad("reserved name")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			return bad(fmt.Sprintf("contains %q", r))
		}
	}
	for _, seg := range strings.Split(name, "/") {
		if strings.HasPrefix(seg, ".") || strings.HasSuffix(seg, ".lock") {
			return bad("a component starts with . or ends with .lock")
		}
	}
	if err := plumbing.NewBranchReferenceName(name).Validate(); err != nil {
		return bad(err.Error())
	}
	return nil
}

// SetBranch points a local branch at commit (the local --commit mode).
// When that branch is the one checked out, the index and work tree move
// with it (see Checkout), so the checkout never shows the commit undone.
func (r *Repo) SetBranch(branch, commit string) error {
	if r.local {
		if head, err := r.repo.Storer.Reference(plumbing.HEAD); err == nil &&
			head.Type() == plumbing.SymbolicReference && head.Target() == plumbing.NewBranchReferenceName(branch) {
			return r.Checkout(context.Background(), commit)
		}
	}
	ref := plumbing.NewHashReference(plumbing.NewBranchReferenceName(branch), plumbing.NewHash(commit))
	if err := r.repo.Storer.SetReference(ref); err != nil {
		return fmt.Errorf("set branch %s: %w", branch, err)
	}
	return nil
}

// Checkout moves the checked-out branch of a local checkout to commit and
// updates the index and the work tree files that differ, like
// `git reset --merge`. It refuses when tracked files have changes of
// their own, staged or not, so nothing of the person's is overwritten;
// untracked files are left alone.
func (r *Repo) Checkout(ctx context.Context, commit string) error {
	if !r.local {
		return errors.New("checkout: only a local checkout has a work tree")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	what := "check out " + short(commit)
	wt, err := r.repo.Worktree()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	status, err := wt.Status()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	var dirty []string
	for name, st := range status {
		if st.Staging != git.Unmodified && st.Staging != git.Untracked || st.Worktree != git.Unmodified && st.Worktree != git.Untracked {
			dirty = append(dirty, name)
		}
	}
	if len(dirty) > 0 {
		slices.Sort(dirty)
		return fmt.Errorf("%s: the checkout has uncommitted changes (%s); commit or stash them first", what, strings.Join(dirty[:min(len(dirty), 3)], ", "))
	}
	hash := plumbing.NewHash(commit)
	if err := wt.Reset(&git.ResetOptions{Commit: hash, Mode: git.MergeReset}); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if head, err := r.repo.Head(); err == nil && head.Name().Short() == r.base {
		r.baseCommit = hash
	}
	return nil
}
