// Package bump orchestrates one run: get the tree (a local checkout or a
// fresh in-memory clone), rewrite the image references, and then, as asked,
// write the files, or commit, push and ensure one pull request. It owns the
// "find, else create, else update" logic and the retry loop for lost races;
// the packages below it each do one thing and know nothing of the flow.
package bump

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"

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
	// Source says which images to bump; it is asked on every attempt,
	// with the tree that attempt rewrites.
	Source         Source
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
	// Promotion, when set, names the environments of a promotion: the
	// default branch, message, title and body say so.
	Promotion Promotion

	PR    forge.PullRequestSpec // labels, reviewers…; Base, Head, Title and Body are filled in by Run
	Forge Forge
	// Committer, when set, creates the commit through the forge's API
	// instead of pushing a local one.
	Committer APICommitter

	// Settle, when set, is called once after the clone (or the opening of
	// the checkout for a commit), before the first attempt, with the base
	// commit's tree and these options, Base filled in with the branch the
	// run works on. The options it returns govern the rest of the run
	// (the repository's own .bump.yaml sets templates, labels, paths,
	// push-to-base…); the repository is already open, so what decides
	// where and how to clone no longer matters.
	Settle func(tree fs.FS, opts Options) (Options, error)

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
	if opts.Source == nil {
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

func (o *Options) rewriteOptions(images []imageref.Ref) manifest.Options {
	return manifest.Options{
		Images:         images,
		Paths:          o.Paths,
		SkipInvalid:    o.SkipInvalid,
		AllowDowngrade: o.AllowDowngrade,
	}
}
