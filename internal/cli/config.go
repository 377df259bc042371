package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

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

// checkoutConfig reads the .bump.yaml of the local checkout when --config
// names another file (which is then the pipeline's); nil otherwise.
func checkoutConfig(c *cli.Context, local bool) (*config.Config, error) {
	if !local || c.String("config") == "" {
		return nil, nil
	}
	file := filepath.Join(orDefault(c, "dir", "."), config.FileName)
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return loadChecked(file)
}

// layer resolves the manifests repository's own file for env and lays the
// pipeline's settings (nil when it has none) over it.
func layer(env string, own, pipe *config.Config, pipeSettings *config.Settings) (*config.Settings, error) {
	s, err := resolveLayers(env, own, pipe)
	if err != nil || s == nil {
		return pipeSettings, err
	}
	if pipeSettings != nil {
		merged := config.Merge(*s, *pipeSettings)
		s = &merged
	}
	return s, nil
}

// resolvePipeline picks the pipeline's file's settings for --env: its
// defaults and that environment; nil when there is no file. When bump
// clones, an environment the file lacks may be the manifests repository's
// own, so the file's defaults apply and the check waits for the clone.
func resolvePipeline(c *cli.Context, cfg *config.Config, cloning bool) (*config.Settings, error) {
	env := c.String("env")
	if cfg == nil {
		if env != "" && !cloning {
			return nil, errNoConfig(env)
		}
		return nil, nil
	}
	s, err := cfg.Resolve(env)
	if err != nil {
		defaults, _ := cfg.Resolve("")
		if !cloning && defaults.Repo == "" {
			return nil, usageError{err}
		}
		s = defaults
	}
	return &s, nil
}

func errNoConfig(env string) error {
	return usagef("--env %s: no config file (.bump.yaml in the repository, or --config)", env)
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
	flag := func(name string, dst *bool, v *config.Bool) {
		if v != nil && !c.IsSet(name) {
			*dst = bool(*v)
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
// and lays the pipeline's file (pipe, resolved as pipeSettings; nil when
// there is none) over it. What decides where and how to clone (repo, base,
// forge) is settled by then, so the cloned file may not change it.
func configureFromRepo(c *cli.Context, pipe *config.Config, pipeSettings *config.Settings) func(fs.FS, bump.Options) (bump.Options, error) {
	return func(fsys fs.FS, opts bump.Options) (bump.Options, error) {
		own, err := readRepoConfig(fsys)
		if err != nil {
			return opts, err
		}
		env := c.String("env")
		s, err := resolveLayers(env, own, pipe)
		if err != nil || s == nil {
			return opts, err
		}
		for _, k := range []struct{ key, val string }{{"repo", s.Repo}, {"forge", s.Forge}, {"forge-url", s.ForgeURL}, {"base", s.Base}} {
			if k.val == "" || (k.key == "base" && (k.val == opts.Base || opts.Base == "")) {
				continue
			}
			return opts, usageError{own.KeyError(env, k.key, "%s %q: the manifests repository's own config file cannot choose repo, base, forge or forge-url (it is read from that clone): set them with flags, BUMP_* variables or the pipeline's config file", k.key, k.val)}
		}
		if pipeSettings != nil {
			merged := config.Merge(*s, *pipeSettings)
			s = &merged
		}
		base := opts.Base
		if err := applyConfig(c, s, &opts); err != nil {
			return opts, err
		}
		opts.Base = base
		return opts, nil
	}
}

// readRepoConfig parses the cloned repository's .bump.yaml; nil when it
// has none.
func readRepoConfig(fsys fs.FS) (*config.Config, error) {
	data, err := fs.ReadFile(fsys, config.FileName)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", config.FileName, err)
	}
	cfg, err := config.Parse(config.FileName, data)
	if err != nil {
		return nil, usageError{err}
	}
	if err := checkFileTemplates(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// resolveLayers resolves the cloned file's settings for env (nil when it
// has no file). An environment may live in either file; one that neither
// defines is a mistake.
func resolveLayers(env string, own, pipe *config.Config) (*config.Settings, error) {
	switch {
	case own == nil && pipe == nil:
		if env != "" {
			return nil, errNoConfig(env)
		}
		return nil, nil
	case own == nil:
		if env != "" && !pipe.Has(env) {
			_, err := pipe.Resolve(env)
			return nil, usageError{err}
		}
		return nil, nil
	case pipe == nil || env == "" || own.Has(env):
		s, err := own.Resolve(env)
		if err != nil {
			return nil, usageError{err}
		}
		return &s, nil
	case pipe.Has(env):
		s, _ := own.Resolve("")
		return &s, nil
	}
	names := map[string]bool{}
	for _, c := range []*config.Config{own, pipe} {
		for n := range c.Environments {
			names[n] = true
		}
	}
	known := slices.Sorted(maps.Keys(names))
	return nil, usagef("no environment %q in %s or the repository's %s (known: %s)", env, pipe.Name(), own.Name(), strings.Join(known, ", "))
}
