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

	"github.com/bump-gitops/bump/internal/bump"
	"github.com/bump-gitops/bump/internal/config"
)

// loadConfig reads --config, or .bump.yaml at the root of the local
// checkout; nil when there is none. The manifests repo's own file, when
// bump clones it, is read later by configureFromRepo.
func loadConfig(cl commandLine, local bool) (*config.Config, error) {
	if file := cl.ConfigFile; file != "" {
		return loadChecked(file)
	}
	if !local {
		return nil, nil
	}
	file := filepath.Join(cl.Dir, config.FileName)
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
func checkoutConfig(cl commandLine, local bool) (*config.Config, error) {
	if !local || cl.ConfigFile == "" {
		return nil, nil
	}
	file := filepath.Join(cl.Dir, config.FileName)
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return loadChecked(file)
}

// configFiles are the config files' layers, lowest first, and the
// pipeline's file for the clone's hook to layer over the cloned one.
type configFiles struct {
	layers     []config.Layer
	pipe       *config.Config
	pipeLayers []config.Layer // the pipeline's file resolved for --env, if any
}

// readConfigs reads the config files bump runs with: --config, or
// .bump.yaml in the checkout. The file may name the repository and its
// forge, which decide the mode; a file in the cloned repository is read
// later and may not.
func readConfigs(cl commandLine) (configFiles, error) {
	local := cl.Repo == nil
	if local {
		if st, err := os.Stat(cl.Dir); err != nil || !st.IsDir() {
			return configFiles{}, usagef("--dir %s: no such directory", cl.Dir)
		}
	}
	cfg, err := loadConfig(cl, local)
	if err != nil {
		return configFiles{}, err
	}
	// With --config in a checkout, the checkout's own .bump.yaml is the
	// manifests repository's file: the lower layer, as after a clone.
	own, err := checkoutConfig(cl, local)
	if err != nil {
		return configFiles{}, err
	}
	pipe, err := resolvePipeline(cl.Env, cfg, !local || own != nil)
	if err != nil || pipe == nil && own == nil {
		return configFiles{pipe: cfg}, err
	}
	f := configFiles{pipe: cfg}
	if pipe != nil {
		f.pipeLayers = []config.Layer{pipe.Layer()}
		local = local && pipe.Repo == ""
	}
	if local && own != nil {
		s, err := resolveLayers(cl.Env, own, cfg)
		if err != nil {
			return f, err
		}
		if s != nil {
			// The repository and its forge were settled above.
			l := s.Layer()
			l.Repo, l.Forge, l.ForgeURL = nil, nil, nil
			f.layers = append(f.layers, l)
		}
	}
	f.layers = append(f.layers, f.pipeLayers...)
	return f, nil
}

// resolvePipeline picks the pipeline's file's settings for --env: its
// defaults and that environment; nil when there is no file. When bump
// clones, an environment the file lacks may be the manifests repository's
// own, so the file's defaults apply and the check waits for the clone.
func resolvePipeline(env string, cfg *config.Config, cloning bool) (*config.Settings, error) {
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

// configureFromRepo is the hook bump calls with the cloned tree: a thin
// wrapper over cloneSettings, which lays the cloned file under the others.
func configureFromRepo(cl commandLine, files configFiles) func(fs.FS, bump.Options) (bump.Options, error) {
	return func(fsys fs.FS, opts bump.Options) (bump.Options, error) {
		s, err := cl.cloneSettings(fsys, files, opts.Base)
		if err != nil || s == nil {
			return opts, err
		}
		base := opts.Base
		apply(*s, &opts)
		opts.Base = base
		return opts, nil
	}
}

// cloneSettings reads .bump.yaml from the cloned manifests repository and
// lays the pipeline's file and the command line over it; nil when the
// clone has no file. What decides where and how to clone (repo, base,
// forge) is settled by then (base is the base cloned), so the cloned file
// may not change it.
func (cl commandLine) cloneSettings(fsys fs.FS, files configFiles, base string) (*config.Layer, error) {
	own, err := readRepoConfig(fsys)
	if err != nil {
		return nil, err
	}
	s, err := resolveLayers(cl.Env, own, files.pipe)
	if err != nil || s == nil {
		return nil, err
	}
	for _, k := range []struct{ key, val string }{{"repo", s.Repo}, {"forge", s.Forge}, {"forge-url", s.ForgeURL}, {"base", s.Base}} {
		if k.val == "" || (k.key == "base" && (k.val == base || base == "")) {
			continue
		}
		return nil, usageError{own.KeyError(cl.Env, k.key, "%s %q: the manifests repository's own config file cannot choose repo, base, forge or forge-url (it is read from that clone): set them with flags, BUMP_* variables or the pipeline's config file", k.key, k.val)}
	}
	merged, err := cl.resolve(append([]config.Layer{s.Layer()}, files.pipeLayers...)...)
	if err != nil {
		return nil, err
	}
	return &merged, nil
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
