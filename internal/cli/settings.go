package cli

import (
	"path/filepath"
	"slices"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bump-gitops/bump/internal/bump"
	"github.com/bump-gitops/bump/internal/config"
	"github.com/bump-gitops/bump/internal/forge"
	"github.com/bump-gitops/bump/internal/imageref"
)

// commandLine is what the flags and their BUMP_* variables ask for. The
// settings a config file may also hold are in Layer, nil where the user
// set nothing, so that the files below show through; the rest only the
// command line sets.
type commandLine struct {
	config.Layer

	Images     []string
	Dir        string
	ConfigFile string
	Env        string

	DryRun, NoPR, Commit, Push, PR, CommitViaAPI bool
	RemoveSourceBranch, Squash                   bool

	Author, SigningKey string

	Output, LogFormat, Dotenv string
	Verbose                   bool
	Timeout                   time.Duration

	images []imageref.Ref // Images, parsed by check
	// source, when set, says what to bump instead of Images (promote).
	source bump.Source
}

// readFlags is the one place that looks flags up by name (credentials
// aside). A string set to "" counts as unset: CI systems pass unset
// inputs as empty variables.
func readFlags(c *cli.Context) commandLine {
	str := func(name string) *string {
		if v := c.String(name); c.IsSet(name) && v != "" {
			return &v
		}
		return nil
	}
	flag := func(name string) *bool {
		if v := c.Bool(name); c.IsSet(name) {
			return &v
		}
		return nil
	}
	list := func(name string) []string { return splitList(c.StringSlice(name)) }
	return commandLine{
		Layer: config.Layer{
			Paths: list("path"), Labels: list("label"), Reviewers: list("reviewer"), Assignees: list("assignee"),
			Base: str("base"), Branch: str("branch"), Message: str("message"), Title: str("title"), Body: str("body"),
			MergeMethod: str("merge-method"), Forge: str("forge"), ForgeURL: str("forge-url"), Repo: str("repo"),
			PushToBase: flag("push-to-base"), AutoMerge: flag("auto-merge"), Draft: flag("draft"),
			AllowDowngrade: flag("allow-downgrade"), SkipInvalid: flag("skip-invalid"),
		},
		Images: list("image"), Dir: orDefault(c, "dir", "."), ConfigFile: c.String("config"), Env: c.String("env"),
		DryRun: c.Bool("dry-run"), NoPR: c.Bool("no-pr"), Commit: c.Bool("commit"), Push: c.Bool("push"), PR: c.Bool("pr"),
		CommitViaAPI: c.Bool("commit-via-api"), RemoveSourceBranch: c.Bool("remove-source-branch"), Squash: c.Bool("squash"),
		Author: c.String("author"), SigningKey: c.String("signing-key"),
		Output: orDefault(c, "output", "text"), LogFormat: orDefault(c, "log-format", "text"), Dotenv: c.String("dotenv"),
		Verbose: c.Bool("verbose"), Timeout: c.Duration("timeout"),
	}
}

// check validates what the command line alone can be judged on, before
// any file is read, and normalises its paths.
func (cl *commandLine) check() error {
	if cl.source == nil {
		if len(cl.Images) == 0 {
			return usagef("no image given: pass --image NAME:TAG (or set BUMP_IMAGE)")
		}
		var err error
		if cl.images, err = parseImages(cl.Images); err != nil {
			return err
		}
	}
	if err := checkTemplateFlags(templates(cl.Layer)); err != nil {
		return err
	}
	var paths []string
	for _, p := range cl.Paths {
		if filepath.IsAbs(p) || !filepath.IsLocal(p) {
			return usagef("--path %q must be relative and stay inside the repository", p)
		}
		paths = append(paths, filepath.ToSlash(filepath.Clean(p)))
	}
	cl.Paths = paths
	return nil
}

// parse is the pure step from a command line to bump.Options: no files,
// no network, no environment beyond what the flags hold.
func parse(cl *commandLine) (bump.Options, error) {
	if err := cl.check(); err != nil {
		return bump.Options{}, err
	}
	s, err := cl.resolve()
	if err != nil {
		return bump.Options{}, err
	}
	return cl.options(s), nil
}

// resolve lays the command line over the config files' layers (lowest
// first: the manifests repository's, then the pipeline's) and validates
// the result.
func (cl commandLine) resolve(files ...config.Layer) (config.Layer, error) {
	s := config.Merge(slices.Concat(files, []config.Layer{cl.Layer})...)
	if config.IsTrue(cl.PushToBase) && cl.CommitViaAPI {
		return s, usagef("--commit-via-api works on the head branch; it cannot be combined with --push-to-base")
	}
	// A branch from a file is a default for the environments that open
	// pull requests; one asked for on the command line is a mistake.
	// (Checked in this order, around merge-method, as bump always has.)
	branchWithPushToBase := func(pushToBase *bool) bool { return config.IsTrue(pushToBase) && cl.Branch != nil }
	if branchWithPushToBase(cl.PushToBase) {
		return s, errBranchWithPushToBase
	}
	switch m := config.Str(s.MergeMethod); m {
	case "", "merge", "squash", "rebase":
	default:
		// The files' values are checked where they are read, with their line.
		return s, usagef("--merge-method %q: want merge, squash or rebase", m)
	}
	if branchWithPushToBase(s.PushToBase) {
		return s, errBranchWithPushToBase
	}
	return s, nil
}

var errBranchWithPushToBase = usagef("--branch names a pull request's branch, but this run commits straight onto the base branch (push-to-base)")

// options converts the resolved settings (the command line laid over the
// files) into bump.Options, with the mode.
func (cl commandLine) options(s config.Layer) bump.Options {
	opts := bump.Options{
		Source:  cl.source,
		Dir:     cl.Dir,
		RepoURL: config.Str(s.Repo),
		DryRun:  cl.DryRun,
		PR:      forge.PullRequestSpec{RemoveSourceBranch: cl.RemoveSourceBranch, Squash: cl.Squash},
	}
	if opts.Source == nil {
		opts.Source = bump.Fixed(cl.images)
	}
	opts.Mode = cl.mode(opts.RepoURL != "")
	apply(s, &opts)
	return opts
}

// apply sets the options the layered settings decide.
func apply(s config.Layer, opts *bump.Options) {
	opts.Paths = s.Paths
	opts.Base = config.Str(s.Base)
	opts.Templates = templates(s)
	opts.AllowDowngrade = config.IsTrue(s.AllowDowngrade)
	opts.SkipInvalid = config.IsTrue(s.SkipInvalid)
	opts.PushToBase = config.IsTrue(s.PushToBase)
	if opts.PushToBase && opts.Mode == bump.OpenPR {
		opts.Mode = bump.Push
	}
	opts.PR.Labels, opts.PR.Reviewers, opts.PR.Assignees = s.Labels, s.Reviewers, s.Assignees
	opts.PR.Draft = config.IsTrue(s.Draft)
	opts.PR.AutoMerge = config.IsTrue(s.AutoMerge)
	opts.PR.MergeMethod = config.Str(s.MergeMethod)
	if opts.PR.MergeMethod == "" {
		opts.PR.MergeMethod = "squash"
	}
}

func templates(s config.Layer) bump.Templates {
	return bump.Templates{Branch: config.Str(s.Branch), Message: config.Str(s.Message), Title: config.Str(s.Title), Body: config.Str(s.Body)}
}

// mode: with a repository to clone, bump goes all the way to a pull
// request unless told to stop earlier; in a local checkout it only writes
// files unless asked to go further. A push-to-base from a file turns a
// pull request into a push later, in apply.
func (cl commandLine) mode(remote bool) bump.Mode {
	switch {
	case config.IsTrue(cl.PushToBase), cl.NoPR:
		return bump.Push
	case remote || cl.PR:
		return bump.OpenPR
	case cl.Push:
		return bump.Push
	case cl.Commit:
		return bump.CommitOnly
	}
	return bump.WriteFiles
}
