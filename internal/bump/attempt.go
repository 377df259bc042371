package bump

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/bump-gitops/bump/internal/forge"
	"github.com/bump-gitops/bump/internal/gitrepo"
	"github.com/bump-gitops/bump/internal/imageref"
	"github.com/bump-gitops/bump/internal/manifest"
)

// attempt is one try: read the base tree, ask the source for the images,
// rewrite, commit, push. It returns the images it bumped, which the pull
// request describes.
func (r *run) attempt(ctx context.Context) (*Outcome, []imageref.Ref, error) {
	base, baseCommit := r.repo.BaseBranch(), r.repo.BaseCommit()
	tree, err := r.repo.TreeFS(baseCommit)
	if err != nil {
		return nil, nil, err
	}
	refs, err := images(ctx, r.opts.Source, tree)
	if err != nil {
		return nil, nil, err
	}
	start := time.Now()
	res, err := manifest.Rewrite(ctx, tree, r.opts.rewriteOptions(refs))
	if err != nil {
		return nil, nil, err
	}
	logRewrite(r.log, base+"@"+baseCommit, res, start)
	out := newOutcome(res)
	out.Base = base
	if r.opts.DryRun {
		out.DryRun = true
		out.Diff, err = unifiedDiff(tree, res.Files)
		return out, refs, err
	}
	if !res.Changed() {
		r.log.Info("up to date", "base", base)
		return out, refs, nil
	}
	r.readOrigins(ctx, tree, refs, baseCommit)
	if err := r.land(ctx, out, res, refs, baseCommit); err != nil {
		return nil, nil, err
	}
	return out, refs, nil
}

// land commits the rewrite onto the head branch (or the base, with
// PushToBase) and pushes it, filling in out; an existing head branch
// that needs no commit is left alone.
func (r *run) land(ctx context.Context, out *Outcome, res *manifest.Result, refs []imageref.Ref, baseCommit string) error {
	data := newTemplateData(refs, r.opts.CI, res, out.Base)
	data.Promotion = r.opts.Promotion
	data.addOrigins(r.origins)
	branch, expected := out.Base, baseCommit
	if !r.opts.PushToBase {
		name, hb, err := r.headBranch(ctx, data, refs, baseCommit)
		if err != nil {
			return err
		}
		out.Branch = name
		switch {
		case hb.newer != "":
			out.Note, out.Changed = hb.newer, false
			return nil
		case hb.current:
			// Same base, same change: committing or pushing again would
			// only churn CI. Nothing moved, and the outcome says so.
			r.log.Info("branch already up to date", "branch", name)
			out.Commit, out.UpToDate = hb.head, true
			return nil
		}
		branch, expected = name, hb.head
	}
	data.Branch = branch
	message, err := commitMessage(r.opts.Templates.Message, data)
	if err != nil {
		return err
	}
	out.Branch = branch
	files := make(map[string][]byte, len(res.Files))
	for _, f := range res.Files {
		files[f.Path] = f.Data
	}
	return r.commit(ctx, out, commitSpec{branch: branch, parent: baseCommit, expected: expected, files: files, message: message})
}

// commitSpec is one commit to make on a branch.
type commitSpec struct {
	branch   string
	parent   string
	expected string // the branch's tip the update must find (the lease); "" when it must not exist
	files    map[string][]byte
	message  string
}

// commit makes the commit (through the forge's API with a Committer) and
// moves the branch: the checkout's own for a local commit, else the
// remote's by a push.
func (r *run) commit(ctx context.Context, out *Outcome, c commitSpec) error {
	if r.opts.Committer != nil && !r.opts.PushToBase {
		headline, body := splitMessage(c.message)
		sha, err := commitViaAPI(ctx, r.opts.Committer, APICommit{Branch: c.branch, BaseSHA: c.parent, ExpectedHead: c.expected, Files: c.files, Headline: headline, Body: body})
		if err != nil {
			return err
		}
		out.Commit, out.Pushed = sha, true
		return nil
	}
	commit, err := r.repo.Commit(ctx, gitrepo.CommitRequest{
		Parent:     c.parent,
		Files:      c.files,
		Message:    c.message,
		Author:     r.opts.Author,
		Committer:  r.opts.CommittedBy,
		SigningKey: r.opts.SigningKey,
	})
	if err != nil {
		return err
	}
	out.Commit = commit
	if r.opts.Mode == CommitOnly {
		return r.setLocalBranch(c.branch, commit, c.expected, c.message)
	}
	if err := r.repo.Push(ctx, commit, c.branch, c.expected); err != nil {
		return err
	}
	out.Pushed = true
	r.log.Info("pushed", "branch", c.branch, "commit", commit)
	return nil
}

// commitViaAPI has the forge make the commit; a branch that moved since
// bump looked is a lost race, retried like a refused push.
func commitViaAPI(ctx context.Context, c APICommitter, commit APICommit) (string, error) {
	sha, err := c.CommitOnBranch(ctx, commit)
	if err != nil {
		err = fmt.Errorf("commit on %s through the API: %w", commit.Branch, err)
		if errors.Is(err, forge.ErrConflict) {
			// Like a refused push: start again from the branch's new state.
			err = fmt.Errorf("%w: %w", gitrepo.ErrRejected, err)
		}
		return "", err
	}
	return sha, nil
}

// setLocalBranch moves the checkout's branch onto the new commit, for a
// commit with no push.
func (r *run) setLocalBranch(branch, commit, expected, message string) error {
	err := r.repo.SetBranch(gitrepo.BranchUpdate{
		Branch: branch, Commit: commit, Expected: expected, Who: r.opts.Author,
		Reason: "bump: " + subjectOf(message),
	})
	if err != nil {
		// A local branch that moved meanwhile is the person's doing:
		// report it, do not retry against the remote.
		return errors.New(err.Error())
	}
	return nil
}

func subjectOf(message string) string {
	line, _, _ := strings.Cut(message, "\n")
	return line
}

// readOrigins asks a source that reads history where its images came
// from. The links only inform the reviewer: a history that cannot be read
// is a warning, never a failed run.
func (r *run) readOrigins(ctx context.Context, tree fs.FS, refs []imageref.Ref, baseCommit string) {
	hs, ok := r.opts.Source.(HistorySource)
	if !ok {
		return
	}
	origins, err := hs.Origins(ctx, tree, baseHistory{repo: r.repo, commit: baseCommit}, refs)
	if err != nil {
		r.log.Warn("could not read where the images came from", "err", err)
		return
	}
	r.origins = origins
}
