package cli

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/bump-gitops/bump/internal/bump"
	"github.com/bump-gitops/bump/internal/config"
	"github.com/bump-gitops/bump/internal/imageref"
	"github.com/bump-gitops/bump/internal/promote"
)

const promoteUsageText = `bump promote --from ENV --to ENV [--image NAME]... [options]

Writes the versions the --from environment runs (its paths in the config
file) into the same images of the --to environment, whose settings (base,
labels, reviewers, push-to-base, auto-merge…) apply.

Examples:
   # In a checkout: show what would move from staging to production
   bump promote --from staging --to production --dry-run

   # In CI: clone, push promote/staging-to-production and open its pull request
   BUMP_TOKEN=… bump promote --from staging --to production --repo https://github.com/acme/manifests.git`

// promoteFlags are the environments and images of a promotion, then the
// git, pull-request, credential and output flags of bump.
func promoteFlags() []cli.Flag {
	own := withBools(
		&cli.StringFlag{Name: "from", Category: catImages, EnvVars: env("FROM"),
			Usage: "environment of the config file whose versions to promote"},
		&cli.StringFlag{Name: "to", Category: catImages, EnvVars: env("TO"),
			Usage: "environment of the config file to write them into (its settings apply)"},
		&cli.StringSliceFlag{Name: "image", Aliases: []string{"i"}, Category: catImages, EnvVars: env("IMAGE"),
			Usage: "only promote this image `NAME` (repeatable); NAME:TAG picks the version when --from runs several"},
		&cli.StringFlag{Name: "dir", Aliases: []string{"C"}, Category: catImages, EnvVars: env("DIR"), Value: ".",
			Usage: "local checkout to work in when no --repo is given"},
		&cli.StringFlag{Name: "config", Category: catImages, EnvVars: env("CONFIG"),
			Usage: "the pipeline's config `FILE` (default: .bump.yaml in --dir, if present)"},
		&cli.BoolFlag{Name: "skip-invalid", Category: catImages, EnvVars: env("SKIP_INVALID"),
			Usage: "warn about and skip malformed YAML files instead of failing"},
		&cli.BoolFlag{Name: "allow-downgrade", Category: catImages, EnvVars: env("ALLOW_DOWNGRADE"),
			Usage: "allow moving the --to environment to a lower version (a rollback)"},
	)
	return slices.Concat(own, gitFlags(), prFlags(), authFlags(), outputFlags())
}

// runPromote runs `bump promote`; args[0] is "promote".
func runPromote(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var (
		runErr error
		out    *bump.Outcome
	)
	secrets := newSecrets()
	all := promoteFlags()
	app := newApp("bump promote", "move the versions one environment runs into another, as a pull request", promoteUsageText, all, stdout, stderr)
	app.Action = func(c *cli.Context) error {
		if c.NArg() == 1 && c.Args().First() == "help" {
			return cli.ShowAppHelp(c)
		}
		if c.NArg() > 0 {
			return usagef("unexpected argument %q (environments go in --from and --to)", c.Args().First())
		}
		out, runErr = run(c, stdout, stderr, secrets, promoteOptions)
		return runErr
	}
	return runApp(ctx, app, args, stdout, stderr, secrets, &out, &runErr)
}

// promoteOptions wires a promotion: the --to environment's settings, as
// --env would choose them, and a source reading the --from environment.
func promoteOptions(ctx context.Context, c *cli.Context, cl commandLine, getenv func(string) string, log *slog.Logger) (bump.Options, error) {
	from, to := c.String("from"), c.String("to")
	if from == "" || to == "" {
		return bump.Options{}, usagef("promote needs --from and --to: the environments of the config file to promote between")
	}
	if from == to {
		return bump.Options{}, usagef("--from and --to both name %q", from)
	}
	only, err := parseFilter(cl.Images)
	if err != nil {
		return bump.Options{}, err
	}
	src := &promote.Source{Only: only}
	cl.Images, cl.source, cl.Env = nil, src, to
	local := cl.Repo == nil
	cfg, err := promoteConfig(cl, local)
	if err != nil {
		return bump.Options{}, err
	}
	known := cfg != nil && cfg.Has(from) && cfg.Has(to)
	if known {
		if src.From, src.To, err = envPaths(cfg, from, to); err != nil {
			return bump.Options{}, err
		}
	} else if local || cfg != nil && (cfg.Has(from) || cfg.Has(to)) {
		return bump.Options{}, missingEnv(cfg, from, to)
	}
	opts, err := options(ctx, c, cl, getenv, log)
	if err != nil {
		return opts, err
	}
	opts.Promotion = bump.Promotion{From: from, To: to}
	opts.Paths = src.To
	if settle := opts.Settle; settle != nil && !known {
		// The environments live in the cloned repository's own file.
		opts.Settle = func(fsys fs.FS, o bump.Options) (bump.Options, error) {
			own, err := readRepoConfig(fsys)
			if err != nil {
				return o, err
			}
			if own == nil || !own.Has(from) || !own.Has(to) {
				return o, missingEnv(own, from, to)
			}
			if src.From, src.To, err = envPaths(own, from, to); err != nil {
				return o, err
			}
			o, err = settle(fsys, o)
			o.Paths = src.To
			return o, err
		}
	} else if settle != nil {
		opts.Settle = func(fsys fs.FS, o bump.Options) (bump.Options, error) {
			o, err := settle(fsys, o)
			o.Paths = src.To
			return o, err
		}
	}
	return opts, nil
}

// promoteConfig is the file that names the environments: --config, else
// the checkout's .bump.yaml.
func promoteConfig(cl commandLine, local bool) (*config.Config, error) {
	cfg, err := loadConfig(cl, local)
	if err != nil || cfg == nil || (cfg.Has(cl.Env) && local) {
		return cfg, err
	}
	own, err := checkoutConfig(cl, local)
	if err != nil || own == nil {
		return cfg, err
	}
	return own, nil
}

// envPaths are the paths of both environments; one without its own paths
// would promote the whole repository, which is a mistake.
func envPaths(cfg *config.Config, from, to string) (fromPaths, toPaths []string, err error) {
	for _, env := range []string{from, to} {
		if len(cfg.Environments[env].Paths) == 0 {
			return nil, nil, usageError{cfg.EnvError(env, "environment %q has no paths: promote needs the paths of both environments", env)}
		}
	}
	return cfg.Environments[from].Paths, cfg.Environments[to].Paths, nil
}

// missingEnv says which environment the config file lacks.
func missingEnv(cfg *config.Config, from, to string) error {
	if cfg == nil {
		return usagef("promote --from %s --to %s: no config file (.bump.yaml in the repository, or --config)", from, to)
	}
	env := from
	if cfg.Has(from) {
		env = to
	}
	_, err := cfg.Resolve(env)
	return usageError{err}
}

// parseFilter parses promote's --image: a name alone, or NAME:TAG (or
// @DIGEST) to pick one version.
func parseFilter(args []string) ([]imageref.Ref, error) {
	var out []imageref.Ref
	for _, a := range args {
		if ref, err := imageref.Parse(a); err == nil {
			out = append(out, ref)
			continue
		}
		name, ok := imageref.Normalize(a)
		if !ok {
			return nil, usagef("--image %q: want an image name, or NAME:TAG", a)
		}
		out = append(out, imageref.Ref{Name: name})
	}
	return out, nil
}
