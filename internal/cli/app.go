// Package cli is bump's command line: flags and their environment
// variables, validation, choice of forge and credentials, exit codes, and
// the rendering of a run's Outcome as text, JSON, GitHub Actions outputs or
// a GitLab dotenv report. It is the only user of urfave/cli.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"

	"github.com/urfave/cli/v2"

	"github.com/bump-gitops/bump/internal/bump"
	"github.com/bump-gitops/bump/internal/manifest"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the run failed
	exitUsage = 2 // the command line or configuration is wrong
)

// usageError marks a mistake in what the user asked for (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

const usageText = `bump --image NAME:TAG [--image …] [options]
bump promote --from ENV --to ENV [options]   (see bump promote --help)

Examples:
   # In a checkout: rewrite every reference to the image, show the diff first
   bump --image ghcr.io/acme/api:v1.2.3 --dry-run
   bump --image ghcr.io/acme/api:v1.2.3 --image ghcr.io/acme/worker:v1.2.3

   # Pin a digest, only below one overlay, machine-readable output
   bump --image ghcr.io/acme/api@sha256:… --path overlays/staging --output json

   # In CI: clone the manifests repo, push bump/api and open or update its pull request
   BUMP_TOKEN=… bump --image ghcr.io/acme/api:v1.2.3 --repo https://github.com/acme/manifests.git

   # Straight onto the base branch, no pull request (retries lost races)
   bump --image ghcr.io/acme/api:v1.2.3 --repo … --push-to-base

   # Move what staging runs into production, as a pull request
   bump promote --from staging --to production --repo …

Every flag can also be set with its BUMP_* environment variable (shown in brackets).`

// Run runs bump with args (args[0] is the program name) and returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 1 && args[1] == "promote" {
		return runPromote(ctx, args[1:], stdout, stderr)
	}
	var (
		runErr error
		out    *bump.Outcome
	)
	secrets := newSecrets()
	all := append(flags(), &cli.BoolFlag{Name: "version", Category: catOutput, Usage: "print the version and exit"})
	app := newApp("bump", "move container image tags in GitOps manifests, as a pull request", usageText, all, stdout, stderr)
	app.Action = func(c *cli.Context) error {
		if c.Bool("version") {
			fmt.Fprintln(stdout, versionString())
			return nil
		}
		switch {
		case c.NArg() == 1 && c.Args().First() == "help":
			return cli.ShowAppHelp(c)
		case c.NArg() == 1 && c.Args().First() == "version":
			fmt.Fprintln(stdout, versionString())
			return nil
		case c.NArg() > 0:
			return usagef("unexpected argument %q (images go in --image)", c.Args().First())
		case len(args) <= 1 && len(splitList(c.StringSlice("image"))) == 0:
			// Plain "bump": show what it takes, as an error (exit 2).
			cli.HelpPrinter(stderr, c.App.CustomAppHelpTemplate, c.App)
			fmt.Fprintln(stderr)
		}
		out, runErr = run(c, stdout, stderr, secrets, options)
		return runErr
	}
	return runApp(ctx, app, args, stdout, stderr, secrets, &out, &runErr)
}

// newSecrets starts the list of secrets with the tokens of the
// environment, before parsing: a parse error is scrubbed too.
func newSecrets() *secretList {
	secrets := &secretList{}
	for _, k := range tokenVars {
		secrets.add(os.Getenv(k))
	}
	return secrets
}

// runApp runs a command's app and maps its error to an exit code,
// reporting it once, scrubbed. out and runErr are what its action set.
func runApp(ctx context.Context, app *cli.App, args []string, stdout, stderr io.Writer, secrets *secretList, out **bump.Outcome, runErr *error) int {
	args = canonicalArgs(app.Flags, args)
	err := app.RunContext(ctx, args)
	if err == nil {
		return exitOK
	}
	if *runErr == nil {
		err = flagError(err, app.Flags) // a variable urfave/cli could not parse
	}
	code := exitCode(err, *runErr)
	// The last exit for an error: scrubbed here once, whatever wrapped it.
	reportError(stdout, stderr, errorFormats(app.Flags, args, os.Getenv), *out, secrets.line(err), code)
	return code
}

// exitCode maps a failed run to its exit status.
func exitCode(err, runErr error) int {
	var ue usageError
	if errors.As(err, &ue) || errors.Is(err, manifest.ErrNoPath) || (runErr == nil && !errors.Is(err, context.Canceled)) {
		// A flag urfave/cli could not parse is a usage error too.
		return exitUsage
	}
	return exitError
}

// The standard flag package's words, which urfave/cli passes on: they name
// flags with one dash and say "parse error" whatever the value wanted.
var (
	undefinedFlag = regexp.MustCompile(`^flag provided but not defined: -+(\S+)$`)
	badFlagValue  = regexp.MustCompile(`^invalid value "(.*)" for flag -+(\S+): .*$`)
	missingValue  = regexp.MustCompile(`^flag needs an argument: -+(\S+)$`)
	// urfave/cli's words for a variable it could not parse.
	badEnvValue = regexp.MustCompile(`^could not parse "(.*)" as \w+ value from environment variable "(\w+)" for flag (\S+): .*$`)
)

// wantValue says what a flag's value should look like.
func wantValue(flag string) string {
	want := map[string]string{
		"timeout":       "a duration such as 10m or 90s",
		"github-app-id": "the App's numeric ID",
	}[flag]
	if want == "" {
		want = "see bump --help"
	}
	return want
}

// flagError rewords a command-line parse error the way the rest of bump
// speaks: the flag as typed, what it wants, where to look.
func flagError(err error, flags []cli.Flag) error {
	msg := err.Error()
	if m := undefinedFlag.FindStringSubmatch(msg); m != nil {
		dashes := "--"
		if len(m[1]) == 1 {
			dashes = "-"
		}
		if near := suggestFlag(flags, m[1]); near != "" {
			return fmt.Errorf("unknown flag %s%s: did you mean --%s? (see bump --help)", dashes, m[1], near)
		}
		return fmt.Errorf("unknown flag %s%s (see bump --help)", dashes, m[1])
	}
	if m := badFlagValue.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("--%s %q: want %s", m[2], m[1], wantValue(m[2]))
	}
	if m := badEnvValue.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s=%q: want %s", m[2], m[1], wantValue(m[3]))
	}
	if m := missingValue.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("--%s needs a value", m[1])
	}
	return err
}

// newApp is the urfave/cli application both commands run: bump's own help
// template, and errors left to bump to map to exit codes (urfave/cli would
// call os.Exit itself).
func newApp(name, usage, usageText string, all []cli.Flag, stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:                  name,
		Usage:                 usage,
		UsageText:             usageText,
		Flags:                 all,
		CustomAppHelpTemplate: helpTemplate(all),
		HideHelpCommand:       true,
		Writer:                stdout,
		ErrWriter:             stderr,
		ExitErrHandler:        func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError{flagError(err, all)}
		},
	}
}
