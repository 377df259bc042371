package bump

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/bump-gitops/bump/internal/gitrepo"
	"github.com/bump-gitops/bump/internal/manifest"
)

// run is one bump on a git repository: the options it settled on, the
// open repository, and where it logs. Its methods are the steps of the
// flow; each attempt starts again from the base.
type run struct {
	opts Options
	repo *gitrepo.Repo
	log  *slog.Logger
	// origins are where the images of the last attempt came from, when
	// the source can tell (a promotion); keyed by OriginKey.
	origins map[string]Origin
}

// runLocal rewrites the files of a checkout on disk, or only diffs them.
func runLocal(ctx context.Context, opts Options) (*Outcome, error) {
	log := opts.logger()
	fsys := os.DirFS(opts.Dir)
	refs, err := images(ctx, opts.Source, fsys)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	res, err := manifest.Rewrite(ctx, fsys, opts.rewriteOptions(refs))
	if err != nil {
		return nil, err
	}
	logRewrite(log, "checkout "+opts.Dir, res, start)
	out := newOutcome(res)
	if opts.DryRun {
		out.DryRun = true
		out.Diff, err = unifiedDiff(fsys, res.Files)
		return out, err
	}
	if err := manifest.WriteFiles(opts.Dir, res.Files); err != nil {
		return nil, fmt.Errorf("write files: %w", err)
	}
	if len(res.Files) > 0 {
		log.Info("wrote files", "count", len(res.Files))
	}
	return out, nil
}

// logRewrite says what a rewrite found, for --verbose.
func logRewrite(log *slog.Logger, where string, res *manifest.Result, start time.Time) {
	log.Info("rewrote", "tree", where, "changes", len(res.Changes), "files", len(res.Files),
		"skipped", len(res.Skipped), "not_found", len(res.NotFound), "took", time.Since(start).Round(time.Millisecond))
}

func newOutcome(res *manifest.Result) *Outcome {
	return &Outcome{Changed: res.Changed(), Changes: res.Changes, Skipped: res.Skipped, Warnings: res.Warnings, NotFound: res.NotFound}
}

// runGit works on a git repository: a fresh clone of RepoURL, or the local
// checkout when a commit was asked for. Each attempt starts from the latest
// base, so a lost race is repaired by doing the whole bump again.
func runGit(ctx context.Context, opts Options) (*Outcome, error) {
	log := opts.logger()
	start := time.Now()
	repo, err := openRepo(ctx, opts, log)
	if err != nil {
		return nil, err
	}
	log.Info("repository ready", "cloned", opts.RepoURL != "", "base", repo.BaseBranch(), "commit", repo.BaseCommit(), "took", time.Since(start).Round(time.Millisecond))
	r := &run{opts: opts, repo: repo, log: log}
	if err := r.settle(); err != nil {
		return nil, err
	}
	out, refs, err := r.attempts(ctx)
	if err != nil {
		return nil, err
	}
	if (out.Pushed || out.UpToDate) && r.opts.Mode == OpenPR && !r.opts.PushToBase {
		pr, err := r.ensurePullRequest(ctx, out, refs)
		if err != nil {
			return out, fmt.Errorf("branch %s is pushed, but the pull request failed (a re-run completes it): %w", out.Branch, err)
		}
		out.PullRequest = pr
	}
	return out, nil
}

// settle lets Options.Settle read the settings of the opened repository
// (its own .bump.yaml), once, before the first attempt.
func (r *run) settle() error {
	if r.opts.Settle == nil {
		return nil
	}
	tree, err := r.repo.TreeFS(r.repo.BaseCommit())
	if err != nil {
		return err
	}
	if r.opts.Base == "" {
		r.opts.Base = r.repo.BaseBranch()
	}
	settled, err := r.opts.Settle(tree, r.opts)
	if err != nil {
		return err
	}
	r.opts = settled
	return nil
}
