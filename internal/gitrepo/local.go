package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-git/go-billy/v5"

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

// BranchUpdate moves a local branch (the local --commit mode).
type BranchUpdate struct {
	Branch string
	Commit string
	// Expected is where the branch must point now ("" meaning it must not
	// exist), so nothing moved it since bump looked.
	Expected string
	Who      Identity // named in the reflog entry
	Reason   string   // the reflog message, like git's "commit: subject"
}

// SetBranch points a local branch at u.Commit, provided it still points at
// u.Expected, and records the move in the branch's reflog as git does, so
// `git reflog` shows it and can undo it. When that branch is the one
// checked out, the index and work tree move with it (see Checkout), so the
// checkout never shows the commit undone.
func (r *Repo) SetBranch(u BranchUpdate) error {
	name := plumbing.NewBranchReferenceName(u.Branch)
	what := "set branch " + u.Branch
	cur, exists, err := r.LocalBranch(u.Branch)
	if err != nil {
		return err
	}
	if cur != u.Expected && (exists || u.Expected != "") {
		return fmt.Errorf("%s: %w: it is at %s, expected %s", what, ErrRejected, orNone(plumbing.NewHash(cur)), orNone(plumbing.NewHash(u.Expected)))
	}
	checkedOut := false
	if r.local {
		if head, err := r.repo.Storer.Reference(plumbing.HEAD); err == nil &&
			head.Type() == plumbing.SymbolicReference && head.Target() == name {
			checkedOut = true
		}
	}
	if checkedOut {
		if err := r.Checkout(context.Background(), u.Commit); err != nil {
			return err
		}
	} else {
		ref := plumbing.NewHashReference(name, plumbing.NewHash(u.Commit))
		var old *plumbing.Reference
		if exists {
			old = plumbing.NewHashReference(name, plumbing.NewHash(cur))
		}
		if err := r.repo.Storer.CheckAndSetReference(ref, old); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if !r.local {
		return nil
	}
	entries := []string{name.String()}
	if checkedOut {
		entries = append(entries, plumbing.HEAD.String())
	}
	for _, ref := range entries {
		if err := r.appendReflog(ref, cur, u); err != nil {
			return fmt.Errorf("%s: write reflog: %w", what, err)
		}
	}
	return nil
}

// appendReflog adds one line to logs/<ref> in the checkout's git directory,
// in git's format: old new name <email> time zone<TAB>message.
func (r *Repo) appendReflog(ref, old string, u BranchUpdate) error {
	st, ok := r.repo.Storer.(interface{ Filesystem() billy.Filesystem })
	if !ok {
		return nil
	}
	fs := st.Filesystem()
	p := fs.Join("logs", ref)
	if err := fs.MkdirAll(path.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := fs.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if old == "" {
		old = plumbing.ZeroHash.String()
	}
	now := time.Now()
	line := fmt.Sprintf("%s %s %s <%s> %d %s\t%s\n", old, u.Commit, reflogField(u.Who.Name), reflogField(u.Who.Email), now.Unix(), now.Format("-0700"), reflogField(u.Reason))
	if _, err := f.Write([]byte(line)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// reflogField keeps a reflog field on its line and out of the <email> brackets.
func reflogField(s string) string {
	return strings.Join(strings.Fields(strings.NewReplacer("<", "", ">", "").Replace(s)), " ")
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
