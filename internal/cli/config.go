package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/bump-gitops/bump/internal/bump"
	"github.com/bump-gitops/bump/internal/config"
)

// loadConfig reads --config, or .bump.yaml at the root of the local
// checkout; nil when there is none. The manifests repo's own file, when
// bump clones it, is read later by configureFromRepo.
func loadConfig(c *cli.Context, local bool) (*config.Config, error) {
	if file := c.String("config"); file != "" {
		cfg, err := config.Load(file)
		if err != nil {
			return nil, usageError{err}
		}
		return cfg, nil
	}
	if !local {
		return nil, nil
	}
	file := filepath.Join(orDefault(c, "dir", "."), config.FileName)
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	cfg, err := config.Load(file)
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

// applyConfig overlays the file's settings (its defaults and the --env
// environment) on opts wherever the flag and its variable left a value
// unset: flags override the file.
func applyConfig(c *cli.Context, cfg *config.Config, opts *bump.Options) error {
	if cfg == nil {
		if env := c.String("env"); env != "" {
			return usagef("--env %s: no config file (.bump.yaml in the repository, or --config)", env)
		}
	} else if err := overlay(c, cfg, opts); err != nil {
		return err
	}
	// A branch from the file is a default for the environments that open
	// pull requests; one asked for on the command line is a mistake.
	if opts.PushToBase && c.String("branch") != "" {
		return errBranchWithPushToBase
	}
	return nil
}

var errBranchWithPushToBase = usagef("--branch names a pull request's branch, but this run commits straight onto the base branch (push-to-base)")

func overlay(c *cli.Context, cfg *config.Config, opts *bump.Options) error {
	s, err := cfg.Resolve(c.String("env"))
	if err != nil {
		return usageError{err}
	}
	unset := func(name string) bool { return !c.IsSet(name) || c.String(name) == "" }
	str := func(name string, dst *string, v string) {
		if v != "" && unset(name) {
			*dst = v
		}
	}
	list := func(name string, dst *[]string, v []string) {
		if len(v) > 0 && len(splitList(c.StringSlice(name))) == 0 {
			*dst = v
		}
	}
	flag := func(name string, dst *bool, v *bool) {
		if v != nil && !c.IsSet(name) {
			*dst = *v
		}
	}
	list("path", &opts.Paths, s.Paths)
	str("base", &opts.Base, s.Base)
	str("branch", &opts.Templates.Branch, s.Branch)
	str("message", &opts.Templates.Message, s.Message)
	str("title", &opts.Templates.Title, s.Title)
	str("body", &opts.Templates.Body, s.Body)
	flag("allow-downgrade", &opts.AllowDowngrade, s.AllowDowngrade)
	flag("skip-invalid", &opts.SkipInvalid, s.SkipInvalid)
	flag("push-to-base", &opts.PushToBase, s.PushToBase)
	if opts.PushToBase && opts.Mode == bump.OpenPR {
		opts.Mode = bump.Push
	}
	list("label", &opts.PR.Labels, s.Labels)
	list("reviewer", &opts.PR.Reviewers, s.Reviewers)
	list("assignee", &opts.PR.Assignees, s.Assignees)
	flag("draft", &opts.PR.Draft, s.Draft)
	flag("auto-merge", &opts.PR.AutoMerge, s.AutoMerge)
	str("merge-method", &opts.PR.MergeMethod, s.MergeMethod)
	return nil
}

// configureFromRepo reads .bump.yaml from the cloned manifests repository
// when no --config was given. What decides where and how to clone (repo,
// base, forge) is settled by then, so the file may not change it.
func configureFromRepo(c *cli.Context) func(fs.FS, *bump.Options) error {
	if c.String("config") != "" {
		return nil
	}
	return func(fsys fs.FS, opts *bump.Options) error {
		data, err := fs.ReadFile(fsys, config.FileName)
		if errors.Is(err, fs.ErrNotExist) {
			return applyConfig(c, nil, opts)
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", config.FileName, err)
		}
		cfg, err := config.Parse(config.FileName, data)
		if err != nil {
			return usageError{err}
		}
		s, err := cfg.Resolve(c.String("env"))
		if err != nil {
			return usageError{err}
		}
		if s.Repo != "" || s.Forge != "" || s.ForgeURL != "" || (s.Base != "" && s.Base != opts.Base && opts.Base != "") {
			return usagef("%s in the repository cannot choose repo, base, forge or forge-url (it is read from that clone): set them with flags or BUMP_* variables", config.FileName)
		}
		base := opts.Base
		if err := applyConfig(c, cfg, opts); err != nil {
			return err
		}
		opts.Base = base
		return nil
	}
}
