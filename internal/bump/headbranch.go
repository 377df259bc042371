package bump

import (
	"context"
	"fmt"
	"strings"

	"github.com/bump-gitops/bump/internal/gitrepo"
	"github.com/bump-gitops/bump/internal/imageref"
	"github.com/bump-gitops/bump/internal/manifest"
)

// headBranch is what an existing head branch means for this run.
type headBranch struct {
	head    string // its tip, which the push must find unchanged (the lease); "" when absent
	newer   string // set when it already proposes a newer version: leave it alone
	current bool   // it is exactly latest base + this bump already
}

// headBranch names the head branch from its template, refuses one bump
// must not rebuild, and says what an existing one means for this run.
func (r *run) headBranch(ctx context.Context, data *templateData, refs []imageref.Ref, baseCommit string) (string, headBranch, error) {
	branch, err := render("branch", r.opts.Templates.Branch, fallback("branch", data), data)
	if err != nil {
		return "", headBranch{}, err
	}
	if err := gitrepo.ValidBranchName(branch); err != nil {
		return "", headBranch{}, err
	}
	if err := r.notBaseBranch(ctx, branch); err != nil {
		return "", headBranch{}, err
	}
	hb, err := r.checkHeadBranch(ctx, branch, baseCommit, refs)
	return branch, hb, err
}

// notBaseBranch refuses a head branch that is the base branch or the
// remote's default branch: bump rebuilds a head branch from the base, so
// pointing it at either would rewrite the branch everyone builds on.
// Committing onto the base is what --push-to-base is for.
func (r *run) notBaseBranch(ctx context.Context, branch string) error {
	refuse := func(what string) error {
		return fmt.Errorf("head branch %s is the %s: bump does not rebuild it (use --push-to-base to commit onto the base branch)", branch, what)
	}
	if branch == r.repo.BaseBranch() {
		return refuse("base branch")
	}
	switch {
	case r.opts.Mode == CommitOnly && r.opts.RepoURL == "":
		return nil // a local commit asks nothing of the remote
	case r.opts.RepoURL != "" && r.opts.Base == "":
		return nil // the clone followed the remote's HEAD: the base is the default
	}
	def, err := r.repo.DefaultBranch(ctx)
	if err != nil {
		return err
	}
	if branch == def {
		return refuse("remote's default branch")
	}
	return nil
}

// checkHeadBranch looks at an existing head branch: the remote's, or the
// checkout's own for a local commit. bump moves only what it made, so a
// branch holding a commit of someone else's is refused. An older pipeline
// finishing late must not replace a newer proposal, and an identical
// re-run need not push at all.
func (r *run) checkHeadBranch(ctx context.Context, branch, baseCommit string, refs []imageref.Ref) (headBranch, error) {
	head, exists, err := r.branchTip(ctx, branch)
	if err != nil || !exists {
		return headBranch{}, err
	}
	hb := headBranch{head: head}
	if err := r.ownBranch(ctx, branch, head); err != nil {
		return hb, err
	}
	tree, err := r.repo.TreeFS(head)
	if err != nil {
		return hb, err
	}
	// Rewrite the branch's tree with downgrades allowed, to see every
	// version it proposes that ours would replace. This stays a rewrite,
	// not a manifest.Find: "the tip already holds this change" depends on
	// what each rule writes (a Helm map without a digest key takes only
	// the tag), which only the rewrite knows.
	ro := r.opts.rewriteOptions(refs)
	ro.AllowDowngrade, ro.SkipInvalid = true, true
	res, err := manifest.Rewrite(ctx, tree, ro)
	if err != nil {
		// The branch is ours to rebuild; an unreadable tip must not block it.
		return hb, nil
	}
	if !r.opts.AllowDowngrade {
		for _, c := range res.Changes {
			if newer(c.From, c.To) {
				hb.newer = fmt.Sprintf("%s already proposes %s %s, newer than %s: left as it is (--allow-downgrade replaces it)", branch, c.Image, c.From, c.To)
				return hb, nil
			}
		}
	}
	if !res.Changed() {
		parents, err := r.repo.Parents(head)
		hb.current = err == nil && len(parents) == 1 && parents[0] == baseCommit
	}
	return hb, nil
}

// branchTip is the head branch's tip: the checkout's own branch for a
// local commit, else the remote's.
func (r *run) branchTip(ctx context.Context, branch string) (string, bool, error) {
	if r.opts.Mode == CommitOnly {
		return r.repo.LocalBranch(branch)
	}
	return r.repo.FetchBranch(ctx, branch)
}

// ownBranch refuses a branch holding a commit bump did not make (see
// ownCommit): bump moves only what it made.
func (r *run) ownBranch(ctx context.Context, branch, head string) error {
	foreign, err := r.repo.ForeignCommit(ctx, branch, head, ownCommit)
	if err != nil || foreign == nil {
		return err
	}
	where := ""
	if foreign.Unplaced {
		where = fmt.Sprintf(", nor is it within the last commits of %s", r.repo.BaseBranch())
	}
	return fmt.Errorf("branch %s holds commit %s that bump did not make%s: not moving it (delete the branch or pick another with --branch)", branch, foreign, where)
}

// newer reports whether version a is a higher semver tag than b; digests
// carry no order, so they never count as newer.
func newer(a, b string) bool {
	a, _, _ = strings.Cut(a, "@")
	b, _, _ = strings.Cut(b, "@")
	c, ok := imageref.CompareTags(a, b)
	return ok && c > 0
}
