// Package bump orchestrates one run: get the tree (a local checkout or a
// fresh in-memory clone), rewrite the image references, and then, as asked,
// write the files, or commit, push and ensure one pull request. It owns the
// "find, else create, else update" logic and the retry loop for lost races;
// the packages below it each do one thing and know nothing of the flow.
package bump

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/bump-gitops/bump/internal/forge"
	"github.com/bump-gitops/bump/internal/gitrepo"
	"github.com/bump-gitops/bump/internal/imageref"
	"github.com/bump-gitops/bump/internal/manifest"
)

// Forge is what a run needs from a pull-request host. Adapters in
// internal/forge/github and internal/forge/gitlab satisfy it.
type Forge interface {
	// FindPullRequest returns the open pull request from head into base, or nil.
	FindPullRequest(ctx context.Context, head, base string) (*forge.PullRequest, error)
	// CreatePullRequest opens one; it wraps forge.ErrExists when one for head is already open.
	CreatePullRequest(ctx context.Context, spec forge.PullRequestSpec) (*forge.PullRequest, error)
	UpdatePullRequest(ctx context.Context, pr *forge.PullRequest, spec forge.PullRequestSpec) (*forge.PullRequest, error)
	// ListPullRequests returns the open pull requests into base.
	ListPullRequests(ctx context.Context, base string) ([]forge.PullRequest, error)
	ClosePullRequest(ctx context.Context, pr *forge.PullRequest, comment string) error
}

// APICommitter creates a commit on the forge's side (GitHub's
// createCommitOnBranch), so the forge signs it; used by --commit-via-api.
type APICommitter interface {
	// CommitOnBranch points the branch at BaseSHA, provided it is still at
	// ExpectedHead ("" meaning it must not exist), adds one commit with
	// Files on top and returns the new commit's hash. A branch that moved
	// is an error wrapping forge.ErrConflict, and nothing is changed.
	CommitOnBranch(ctx context.Context, c APICommit) (string, error)
}

// APICommit is one commit made through the forge's API.
type APICommit struct {
	Branch       string
	BaseSHA      string
	ExpectedHead string
	Files        map[string][]byte
	Headline     string
	Body         string
}

// Mode says how far a run goes after the rewrite.
type Mode int

const (
	// WriteFiles rewrites the files of a local checkout in place.
	WriteFiles Mode = iota
	// CommitOnly commits on the head branch and goes no further (local checkout).
	CommitOnly
	// Push commits and pushes the head branch.
	Push
	// OpenPR commits, pushes and ensures one open pull request.
	OpenPR
)

// Options is everything one run needs, already validated by the caller.
type Options struct {
	Images         []imageref.Ref
	Paths          []string
	SkipInvalid    bool
	AllowDowngrade bool
	DryRun         bool
	Mode           Mode

	// RepoURL is the manifests repository to clone; empty means the local
	// checkout in Dir.
	RepoURL string
	Dir     string
	Auth    gitrepo.Auth
	// Secrets are scrubbed from every error (tokens, keys).
	Secrets []string

	// Base is the base branch; empty means the remote's default branch.
	Base string
	// PushToBase commits straight onto Base, with no head branch and no PR.
	PushToBase bool
	Templates  Templates
	Author     gitrepo.Identity
	SigningKey []byte

	// CommittedBy is the committer when it is not the Author (git's
	// GIT_COMMITTER_* variables); empty means the Author.
	CommittedBy gitrepo.Identity
	// CI describes the pipeline that runs bump, for links in the commit and PR.
	CI CI

	PR    forge.PullRequestSpec // labels, reviewers…; Base, Head, Title and Body are filled in by Run
	Forge Forge
	// Committer, when set, creates the commit through the forge's API
	// instead of pushing a local one.
	Committer APICommitter

	// Configure, when set, may adjust the options from the cloned tree
	// (the repository's own .bump.yaml) before the first attempt.
	Configure func(fsys fs.FS, opts *Options) error

	// MaxAttempts bounds the retries after a lost push race (default 8).
	MaxAttempts int
	Log         *slog.Logger
}

// CI holds links to what triggered the run, when known.
type CI struct {
	SourceURL   string // the source commit that built the image
	PipelineURL string // the pipeline or workflow run
}

func (o *Options) logger() *slog.Logger {
	if o.Log != nil {
		return o.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Run performs one bump and reports what it did.
func Run(ctx context.Context, opts Options) (*Outcome, error) {
	if len(opts.Images) == 0 {
		return nil, errors.New("no image given")
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	var (
		out *Outcome
		err error
	)
	if opts.RepoURL == "" && opts.Mode == WriteFiles {
		out, err = runLocal(ctx, opts)
	} else {
		out, err = runGit(ctx, opts)
	}
	// out can come with err: a pushed branch whose pull request failed is
	// still worth reporting.
	return out, gitrepo.Scrub(err, opts.Secrets...)
}

func (o *Options) rewriteOptions() manifest.Options {
	return manifest.Options{
		Images:         o.Images,
		Paths:          o.Paths,
		SkipInvalid:    o.SkipInvalid,
		AllowDowngrade: o.AllowDowngrade,
	}
}

// runLocal rewrites the files of a checkout on disk, or only diffs them.
func runLocal(ctx context.Context, opts Options) (*Outcome, error) {
	fsys := os.DirFS(opts.Dir)
	start := time.Now()
	res, err := manifest.Rewrite(ctx, fsys, opts.rewriteOptions())
	if err != nil {
		return nil, err
	}
	logRewrite(opts.logger(), "checkout "+opts.Dir, res, start)
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
		opts.logger().Info("wrote files", "count", len(res.Files))
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
	repo, err := openRepo(ctx, opts)
	if err != nil {
		return nil, err
	}
	log.Info("repository ready", "cloned", opts.RepoURL != "", "base", repo.BaseBranch(), "commit", repo.BaseCommit(), "took", time.Since(start).Round(time.Millisecond))
	if opts.Configure != nil {
		tree, err := repo.TreeFS(repo.BaseCommit())
		if err != nil {
			return nil, err
		}
		if opts.Base == "" {
			opts.Base = repo.BaseBranch()
		}
		if err := opts.Configure(tree, &opts); err != nil {
			return nil, err
		}
	}
	var out *Outcome
	transient := 0
	for attempt := 1; ; attempt++ {
		out, err = attemptGit(ctx, repo, opts)
		if errors.Is(err, gitrepo.ErrTransient) {
			// A push whose answer was lost may have landed: the next
			// attempt starts from the remote's state and finds out.
			transient++
			if transient >= maxTransient {
				break
			}
		} else if !errors.Is(err, gitrepo.ErrRejected) || attempt >= opts.MaxAttempts {
			break
		}
		wait := backoff(attempt)
		log.Info("push failed, retrying on the latest tip", "attempt", attempt, "wait", wait, "err", err)
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
		if _, _, err := repo.FetchBranch(ctx, repo.BaseBranch()); err != nil {
			return nil, fmt.Errorf("refresh %s: %w", repo.BaseBranch(), err)
		}
	}
	if err != nil {
		if errors.Is(err, gitrepo.ErrRejected) {
			return nil, fmt.Errorf("gave up after %d attempts: %w", opts.MaxAttempts, err)
		}
		if errors.Is(err, gitrepo.ErrTransient) {
			return nil, fmt.Errorf("gave up after %d tries: %w", transient, err)
		}
		return nil, err
	}
	if (out.Pushed || out.UpToDate) && opts.Mode == OpenPR && !opts.PushToBase {
		pr, err := ensurePullRequest(ctx, repo, opts, out)
		if err != nil {
			return out, fmt.Errorf("branch %s is pushed, but the pull request failed (a re-run completes it): %w", out.Branch, err)
		}
		out.PullRequest = pr
	}
	return out, nil
}

// maxTransient bounds the tries after server or network failures.
const maxTransient = 3

func openRepo(ctx context.Context, opts Options) (*gitrepo.Repo, error) {
	if opts.RepoURL == "" {
		return gitrepo.Open(ctx, opts.Dir, opts.Auth)
	}
	for attempt := 1; ; attempt++ {
		repo, err := gitrepo.Clone(ctx, gitrepo.CloneOptions{
			URL:     opts.RepoURL,
			Auth:    opts.Auth,
			Branch:  opts.Base,
			Secrets: opts.Secrets,
		})
		if !errors.Is(err, gitrepo.ErrTransient) {
			return repo, err
		}
		if attempt == maxTransient {
			return nil, fmt.Errorf("gave up after %d tries: %w", attempt, err)
		}
		opts.logger().Info("clone failed, retrying", "attempt", attempt, "err", err)
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return nil, err
		}
	}
}

// backoff grows exponentially with full jitter, so racing pipelines spread out.
func backoff(attempt int) time.Duration {
	ceiling := 100 * time.Millisecond << min(attempt, 6)
	return ceiling/2 + rand.N(ceiling/2)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// attemptGit is one try: read the base tree, rewrite, commit, push.
func attemptGit(ctx context.Context, repo *gitrepo.Repo, opts Options) (*Outcome, error) {
	log := opts.logger()
	base := repo.BaseBranch()
	baseCommit := repo.BaseCommit()
	tree, err := repo.TreeFS(baseCommit)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	res, err := manifest.Rewrite(ctx, tree, opts.rewriteOptions())
	if err != nil {
		return nil, err
	}
	logRewrite(log, base+"@"+baseCommit, res, start)
	out := newOutcome(res)
	out.Base = base
	if opts.DryRun {
		out.DryRun = true
		out.Diff, err = unifiedDiff(tree, res.Files)
		return out, err
	}
	if !res.Changed() {
		log.Info("up to date", "base", base)
		return out, nil
	}

	data := newTemplateData(opts, res, base)
	branch := base
	expected := baseCommit
	if !opts.PushToBase {
		if branch, err = render("branch", opts.Templates.Branch, defaultBranch, data); err != nil {
			return nil, err
		}
		if err := gitrepo.ValidBranchName(branch); err != nil {
			return nil, err
		}
		if err := notBaseBranch(ctx, repo, opts, branch); err != nil {
			return nil, err
		}
		hb, err := checkHeadBranch(ctx, repo, opts, branch, baseCommit)
		if err != nil {
			return nil, err
		}
		out.Branch = branch
		switch {
		case hb.newer != "":
			out.Note, out.Changed = hb.newer, false
			return out, nil
		case hb.current:
			// Same base, same change: committing or pushing again would
			// only churn CI. Nothing moved, and the outcome says so.
			log.Info("branch already up to date", "branch", branch)
			out.Commit, out.UpToDate = hb.head, true
			return out, nil
		}
		expected = hb.head
	}
	data.Branch = branch
	message, err := commitMessage(opts, data)
	if err != nil {
		return nil, err
	}
	out.Branch = branch

	files := make(map[string][]byte, len(res.Files))
	for _, f := range res.Files {
		files[f.Path] = f.Data
	}
	if opts.Committer != nil && !opts.PushToBase {
		headline, body := splitMessage(message)
		sha, err := opts.Committer.CommitOnBranch(ctx, APICommit{Branch: branch, BaseSHA: baseCommit, ExpectedHead: expected, Files: files, Headline: headline, Body: body})
		if err != nil {
			err = fmt.Errorf("commit on %s through the API: %w", branch, err)
			if errors.Is(err, forge.ErrConflict) {
				// Like a refused push: start again from the branch's new state.
				err = fmt.Errorf("%w: %w", gitrepo.ErrRejected, err)
			}
			return nil, err
		}
		out.Commit, out.Pushed = sha, true
		return out, nil
	}
	commit, err := repo.Commit(ctx, gitrepo.CommitRequest{
		Parent:     baseCommit,
		Files:      files,
		Message:    message,
		Author:     opts.Author,
		Committer:  opts.CommittedBy,
		SigningKey: opts.SigningKey,
	})
	if err != nil {
		return nil, err
	}
	out.Commit = commit
	if opts.Mode == CommitOnly {
		err := repo.SetBranch(gitrepo.BranchUpdate{
			Branch: branch, Commit: commit, Expected: expected, Who: opts.Author,
			Reason: "bump: " + subjectOf(message),
		})
		if err != nil {
			// A local branch that moved meanwhile is the person's doing:
			// report it, do not retry against the remote.
			return nil, errors.New(err.Error())
		}
		return out, nil
	}
	if err := repo.Push(ctx, commit, branch, expected); err != nil {
		return nil, err
	}
	out.Pushed = true
	log.Info("pushed", "branch", branch, "commit", commit)
	return out, nil
}

func subjectOf(message string) string {
	line, _, _ := strings.Cut(message, "\n")
	return line
}

// notBaseBranch refuses a head branch that is the base branch or the
// remote's default branch: bump rebuilds a head branch from the base, so
// pointing it at either would rewrite the branch everyone builds on.
// Committing onto the base is what --push-to-base is for.
func notBaseBranch(ctx context.Context, repo *gitrepo.Repo, opts Options, branch string) error {
	refuse := func(what string) error {
		return fmt.Errorf("head branch %s is the %s: bump does not rebuild it (use --push-to-base to commit onto the base branch)", branch, what)
	}
	if branch == repo.BaseBranch() {
		return refuse("base branch")
	}
	switch {
	case opts.Mode == CommitOnly && opts.RepoURL == "":
		return nil // a local commit asks nothing of the remote
	case opts.RepoURL != "" && opts.Base == "":
		return nil // the clone followed the remote's HEAD: the base is the default
	}
	def, err := repo.DefaultBranch(ctx)
	if err != nil {
		return err
	}
	if branch == def {
		return refuse("remote's default branch")
	}
	return nil
}

// headBranch is what an existing head branch means for this run.
type headBranch struct {
	head    string // its tip, which the push must find unchanged (the lease); "" when absent
	newer   string // set when it already proposes a newer version: leave it alone
	current bool   // it is exactly latest base + this bump already
}

// checkHeadBranch looks at an existing head branch: the remote's, or the
// checkout's own for a local commit. bump moves only what it made, so a
// branch holding a commit of someone else's is refused. An older pipeline
// finishing late must not replace a newer proposal, and an identical
// re-run need not push at all.
func checkHeadBranch(ctx context.Context, repo *gitrepo.Repo, opts Options, branch, baseCommit string) (headBranch, error) {
	var (
		head   string
		exists bool
		err    error
	)
	if opts.Mode == CommitOnly {
		head, exists, err = repo.LocalBranch(branch)
	} else {
		head, exists, err = repo.FetchBranch(ctx, branch)
	}
	if err != nil || !exists {
		return headBranch{}, err
	}
	hb := headBranch{head: head}
	foreign, err := repo.ForeignCommit(ctx, branch, head, ownCommit)
	if err != nil {
		return hb, err
	}
	if foreign != nil {
		where := ""
		if foreign.Unplaced {
			where = fmt.Sprintf(", nor is it within the last commits of %s", repo.BaseBranch())
		}
		return hb, fmt.Errorf("branch %s holds commit %s that bump did not make%s: not moving it (delete the branch or pick another with --branch)", branch, foreign, where)
	}
	tree, err := repo.TreeFS(head)
	if err != nil {
		return hb, err
	}
	// Rewrite the branch's tree with downgrades allowed, to see every
	// version it proposes that ours would replace.
	ro := opts.rewriteOptions()
	ro.AllowDowngrade, ro.SkipInvalid = true, true
	res, err := manifest.Rewrite(ctx, tree, ro)
	if err != nil {
		// The branch is ours to rebuild; an unreadable tip must not block it.
		return hb, nil
	}
	if !opts.AllowDowngrade {
		for _, c := range res.Changes {
			if newer(c.From, c.To) {
				hb.newer = fmt.Sprintf("%s already proposes %s %s, newer than %s: left as it is (--allow-downgrade replaces it)", branch, c.Image, c.From, c.To)
				return hb, nil
			}
		}
	}
	if !res.Changed() {
		parents, err := repo.Parents(head)
		hb.current = err == nil && len(parents) == 1 && parents[0] == baseCommit
	}
	return hb, nil
}

// newer reports whether version a is a higher semver tag than b; digests
// carry no order, so they never count as newer.
func newer(a, b string) bool {
	a, _, _ = strings.Cut(a, "@")
	b, _, _ = strings.Cut(b, "@")
	c, ok := imageref.CompareTags(a, b)
	return ok && c > 0
}

// ensurePullRequest finds the open pull request for the head branch and
// updates it, or opens one. Two runs racing to open it both end on the
// same one. The pull request must describe what the branch holds when the
// dust settles: a run that finds the branch moved on (a newer bump won the
// race) describes the new tip instead, so a late update from a slower run
// never leaves an older version in the title.
func ensurePullRequest(ctx context.Context, repo *gitrepo.Repo, opts Options, out *Outcome) (*PullRequest, error) {
	if opts.Forge == nil {
		return nil, errors.New("no forge configured")
	}
	data := newTemplateDataFromOutcome(opts, out)
	commit := out.Commit
	var (
		pr      *forge.PullRequest
		created bool
	)
	for range 3 {
		spec, err := pullRequestSpec(opts, out, data)
		if err != nil {
			return nil, err
		}
		p, c, err := upsertPullRequest(ctx, opts.Forge, spec)
		if err != nil {
			return nil, fmt.Errorf("pull request for %s: %w", spec.Head, err)
		}
		pr, created = p, created || c
		head, exists, err := repo.RemoteHead(ctx, out.Branch)
		if err != nil || !exists || head == commit {
			break
		}
		opts.logger().Info("branch moved on while updating the pull request; describing the new tip", "branch", out.Branch, "tip", head)
		commit = head
		if data, err = describeBranch(ctx, repo, opts, out); err != nil {
			return nil, err
		}
	}
	if err := closeSuperseded(ctx, opts, pr); err != nil {
		opts.logger().Warn("could not close superseded pull requests", "err", err)
	}
	return &PullRequest{Number: pr.Number, URL: pr.URL, Created: created}, nil
}

func pullRequestSpec(opts Options, out *Outcome, data *templateData) (forge.PullRequestSpec, error) {
	spec := opts.PR
	spec.Base, spec.Head = out.Base, out.Branch
	var err error
	if spec.Title, err = render("title", opts.Templates.Title, defaultTitle, data); err != nil {
		return spec, err
	}
	if spec.Body, err = render("body", opts.Templates.Body, defaultBody, data); err != nil {
		return spec, err
	}
	spec.Title = strings.TrimSpace(spec.Title)
	spec.Body += "\n" + marker(opts.Images)
	return spec, nil
}

// upsertPullRequest is "find, else create, else update", once.
func upsertPullRequest(ctx context.Context, f Forge, spec forge.PullRequestSpec) (*forge.PullRequest, bool, error) {
	pr, err := f.FindPullRequest(ctx, spec.Head, spec.Base)
	if err != nil {
		return nil, false, err
	}
	if pr != nil {
		pr, err = f.UpdatePullRequest(ctx, pr, spec)
		return pr, false, err
	}
	pr, err = f.CreatePullRequest(ctx, spec)
	if !errors.Is(err, forge.ErrExists) {
		return pr, err == nil, err
	}
	// Another run opened it between our find and create.
	if pr, err = f.FindPullRequest(ctx, spec.Head, spec.Base); err != nil {
		return nil, false, err
	}
	if pr == nil {
		return nil, false, fmt.Errorf("the forge says a pull request from %s exists, but none is open", spec.Head)
	}
	pr, err = f.UpdatePullRequest(ctx, pr, spec)
	return pr, false, err
}

// describeBranch builds the template data for whatever the head branch
// holds now: the versions on its tip, as changes against the base.
func describeBranch(ctx context.Context, repo *gitrepo.Repo, opts Options, out *Outcome) (*templateData, error) {
	head, exists, err := repo.FetchBranch(ctx, out.Branch)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, fmt.Errorf("branch %s disappeared", out.Branch)
	}
	tree, err := repo.TreeFS(head)
	if err != nil {
		return nil, err
	}
	ro := opts.rewriteOptions()
	ro.AllowDowngrade, ro.SkipInvalid = true, true
	onBranch, err := manifest.Rewrite(ctx, tree, ro)
	if err != nil {
		return nil, err
	}
	// Where the branch differs from this run, its version is the From side.
	images := make([]imageref.Ref, len(opts.Images))
	for i, ref := range opts.Images {
		images[i] = ref
		for _, c := range onBranch.Changes {
			if c.Image != ref.Familiar() || c.From == "" {
				continue
			}
			sep := ":"
			if strings.HasPrefix(c.From, "sha256:") {
				sep = "@"
			}
			if r, err := imageref.Parse(ref.Familiar() + sep + c.From); err == nil {
				images[i] = r
			}
			break
		}
	}
	baseTree, err := repo.TreeFS(repo.BaseCommit())
	if err != nil {
		return nil, err
	}
	ro.Images = images
	res, err := manifest.Rewrite(ctx, baseTree, ro)
	if err != nil {
		return nil, err
	}
	described := opts
	described.Images = images
	described.CI = CI{} // the links belong to the run that made that commit
	return newTemplateData(described, res, out.Base), nil
}

// closeSuperseded closes bump's own older pull requests for the same images
// when the branch template makes one branch per version; with the default
// stable branch there is nothing to close.
func closeSuperseded(ctx context.Context, opts Options, current *forge.PullRequest) error {
	if !perVersionBranch(opts.Templates.Branch) {
		return nil
	}
	prs, err := opts.Forge.ListPullRequests(ctx, current.Base)
	if err != nil {
		return err
	}
	mark := marker(opts.Images)
	for i := range prs {
		pr := &prs[i]
		if pr.Number == current.Number || !containsLine(pr.Body, mark) {
			continue
		}
		comment := fmt.Sprintf("Superseded by %s.", current.URL)
		if err := opts.Forge.ClosePullRequest(ctx, pr, comment); err != nil {
			return fmt.Errorf("close #%d: %w", pr.Number, err)
		}
	}
	return nil
}
