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
		return loadChecked(file)
	}
	if !local {
		return nil, nil
	}
	file := filepath.Join(orDefault(c, "dir", "."), config.FileName)
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return loadChecked(file)
}

func loadChecked(file string) (*config.Config, error) {
	cfg, err := config.Load(file)
	if err != nil {
		return nil, usageError{err}
	}
	if err := checkFileTemplates(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// checkTemplateFlags parses and trial-renders the templates given as flags
// (or their BUMP_* variables) before anything is cloned, so a misspelt
// field or a hostile template is a usage error up front.
func checkTemplateFlags(t bump.Templates) error {
	for _, name := range bump.TemplateNames {
		if err := bump.CheckTemplate(name, t.Get(name)); err != nil {
			return usagef("--%s: %v", name, err)
		}
	}
	return nil
}

// checkFileTemplates does the same for every template in a config file,
// defaults and environments alike, naming the file and line.
func checkFileTemplates(cfg *config.Config) error {
	for _, name := range bump.TemplateNames {
		if err := cfg.CheckString(name, func(text string) error { return bump.CheckTemplate(name, text) }); err != nil {
			return usageError{err}
		}
	}
	return nil
}

// resolve picks the file's settings for --env: its defaults and that
// environment. No file and no --env is no settings (nil).
func resolve(c *cli.Context, cfg *config.Config) (*config.Settings, error) {
	env := c.String("env")
	if cfg == nil {
		if env != "" {
			return nil, usagef("--env %s: no config file (.bump.yaml in the repository, or --config)", env)
		}
		return nil, nil
	}
	s, err := cfg.Resolve(env)
	if err != nil {
		return nil, usageError{err}
	}
	return &s, nil
}

// applyConfig overlays the file's resolved settings (nil when there is no
// file) on opts wherever the flag and its variable left a value unset:
// flags override the file.
func applyConfig(c *cli.Context, s *config.Settings, opts *bump.Options) error {
	if s != nil {
		overlay(c, *s, opts)
	}
	// A branch from the file is a default for the environments that open
	// pull requests; one asked for on the command line is a mistake.
	if opts.PushToBase && c.String("branch") != "" {
		return errBranchWithPushToBase
	}
	return nil
}

var errBranchWithPushToBase = usagef("--branch names a pull request's branch, but this run commits straight onto the base branch (push-to-base)")

func overlay(c *cli.Context, s config.Settings, opts *bump.Options) {
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
}

// configureFromRepo reads .bump.yaml from the cloned manifests repository
// when no --config was given. What decides where and how to clone (repo,
// base, forge) is settled by then, so the file may not change it.
func configureFromRepo(c *cli.Context) func(fs.FS, *bump.Options) error {
	if c.String("config") != "" {
		return nil
	}
	return func(fsys fs.FS, opts *bump.Options) error {
		var cfg *config.Config
		data, err := fs.ReadFile(fsys, config.FileName)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return fmt.Errorf("read %s: %w", config.FileName, err)
		default:
			if cfg, err = config.Parse(config.FileName, data); err != nil {
				return usageError{err}
			}
			if err := checkFileTemplates(cfg); err != nil {
				return err
			}
		}
		s, err := resolve(c, cfg)
		if err != nil || s == nil {
			return err
		}
		if s.Repo != "" || s.Forge != "" || s.ForgeURL != "" || (s.Base != "" && s.Base != opts.Base && opts.Base != "") {
			return usagef("%s in the repository cannot choose repo, base, forge or forge-url (it is read from that clone): set them with flags or BUMP_* variables", config.FileName)
		}
		base := opts.Base
		if err := applyConfig(c, s, opts); err != nil {
			return err
		}
		opts.Base = base
		return nil
	}
}
