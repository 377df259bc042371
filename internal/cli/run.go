package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/mail"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bump-gitops/bump/internal/bump"
	"github.com/bump-gitops/bump/internal/config"
	"github.com/bump-gitops/bump/internal/gitrepo"
	"github.com/bump-gitops/bump/internal/imageref"
)

// run turns the flags into bump.Options, runs, and renders the outcome.
// A failed run's outcome, if any, is returned for the caller to report
// with the error (as one JSON object with --output json).
func run(c *cli.Context, stdout, stderr io.Writer, secrets *secretList, options optionsFunc) (*bump.Outcome, error) {
	secrets.add(c.String("token"))
	cl := readFlags(c)
	log, err := newLogger(stderr, cl.LogFormat, cl.Verbose, secrets)
	if err != nil {
		return nil, err
	}
	format := cl.Output
	if format != "text" && format != "json" {
		return nil, usagef("--output %q: want text or json", format)
	}
	ctx := c.Context
	if cl.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cl.Timeout)
		defer cancel()
	}

	opts, err := options(ctx, c, cl, os.Getenv, log)
	secrets.add(opts.Secrets...)
	var out *bump.Outcome
	if err == nil {
		out, err = bump.Run(ctx, opts)
		if errors.Is(err, context.DeadlineExceeded) && cl.Timeout > 0 {
			err = fmt.Errorf("timed out after %s: %w", cl.Timeout, err)
		}
		// A signal's context carries which signal it was ("interrupt
		// signal received"): say that rather than a bare "context canceled".
		if cause := context.Cause(c.Context); errors.Is(err, context.Canceled) && cause != nil && cause != context.Canceled {
			err = fmt.Errorf("stopped, %v: %w", cause, err)
		}
	}
	if err != nil {
		err = gitrepo.Scrub(err, opts.Secrets...)
	}
	if ghErr := githubActions(os.Getenv, stdout, out, err); ghErr != nil {
		log.Warn("could not write GitHub Actions outputs", "err", ghErr)
	}
	if path := cl.Dotenv; path != "" && out != nil {
		if dErr := writeDotenv(path, out); dErr != nil && err == nil {
			err = dErr
		}
	}
	if out != nil && (err == nil || format == "text") {
		if rErr := render(stdout, stderr, format, out); rErr != nil && err == nil {
			err = rErr
		}
	}
	return out, err
}

// newLogger logs to w through a handler that scrubs every secret in
// secrets from each record, whoever logged it.
func newLogger(w io.Writer, format string, verbose bool, secrets *secretList) (*slog.Logger, error) {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	ho := &slog.HandlerOptions{Level: level}
	switch format {
	case "text":
		return slog.New(scrubHandler{next: slog.NewTextHandler(w, ho), secrets: secrets}), nil
	case "json":
		return slog.New(scrubHandler{next: slog.NewJSONHandler(w, ho), secrets: secrets}), nil
	}
	return nil, usagef("--log-format %q: want text or json", format)
}

// optionsFunc is a command's wiring step: bump's own, or promote's.
type optionsFunc func(ctx context.Context, c *cli.Context, cl commandLine, getenv func(string) string, log *slog.Logger) (bump.Options, error)

// options is the wiring step: the command line, parsed, laid over the
// config files, then the credentials and CI context the run needs.
func options(ctx context.Context, c *cli.Context, cl commandLine, getenv func(string) string, log *slog.Logger) (bump.Options, error) {
	// parse's steps, with the files read between the check of the
	// command line and the check of the settings it lays over them.
	var opts bump.Options
	if err := cl.check(); err != nil {
		return opts, err
	}
	files, err := readConfigs(cl)
	if err != nil {
		return opts, err
	}
	s, err := cl.resolve(files.layers...)
	if err != nil {
		return opts, err
	}
	opts = cl.options(s)
	opts.CI, opts.Log = ciLinks(getenv), log
	if opts.RepoURL != "" {
		// The manifests repository's own .bump.yaml is read from the
		// clone and layered under the pipeline's file.
		opts.Settle = configureFromRepo(cl, files)
	}
	fc := forgeChoice{kind: config.Str(s.Forge), apiURL: config.Str(s.ForgeURL)}
	return opts, wire(ctx, c, cl, getenv, &opts, fc)
}

// wire gathers what the mode needs beyond the settings: the commit's
// identities and signing key, git credentials and the forge client.
func wire(ctx context.Context, c *cli.Context, cl commandLine, getenv func(string) string, opts *bump.Options, fc forgeChoice) error {
	if opts.DryRun || opts.Mode == bump.WriteFiles {
		// Nothing leaves the machine: no credentials needed.
		if opts.RepoURL != "" {
			return withCredentials(ctx, c, getenv, opts, fc, false)
		}
		return nil
	}
	var err error
	if opts.Author, opts.CommittedBy, err = identities(cl.Author, getenv, opts.Dir, opts.RepoURL == ""); err != nil {
		return err
	}
	if cl.SigningKey != "" {
		if opts.SigningKey, err = secretArg("--signing-key", cl.SigningKey); err != nil {
			return err
		}
		opts.Secrets = append(opts.Secrets, string(opts.SigningKey))
	}
	if opts.Mode == bump.CommitOnly {
		return nil
	}
	if opts.Mode == bump.OpenPR && opts.Settle != nil && !cl.CommitViaAPI {
		// The cloned .bump.yaml may still choose push-to-base, which needs
		// no forge: a repository no forge hosts is an error only if it
		// does not.
		if _, _, ferr := whichForge(fc.kind, getenv, opts.RepoURL, true); ferr != nil {
			opts.Settle = requireForge(opts.Settle, ferr)
			return withCredentials(ctx, c, getenv, opts, fc, false)
		}
	}
	return withCredentials(ctx, c, getenv, opts, fc, opts.Mode == bump.OpenPR || cl.CommitViaAPI)
}

// requireForge fails a run that, once the cloned config is read, still
// opens a pull request although no forge could be found.
func requireForge(settle func(fs.FS, bump.Options) (bump.Options, error), forgeErr error) func(fs.FS, bump.Options) (bump.Options, error) {
	return func(fsys fs.FS, opts bump.Options) (bump.Options, error) {
		opts, err := settle(fsys, opts)
		if err != nil {
			return opts, err
		}
		if opts.Mode == bump.OpenPR {
			return opts, forgeErr
		}
		return opts, nil
	}
}

// parseImages parses the --image arguments. One image named twice with
// the same version is one image (every spelling of it); with two versions
// it cannot be written both ways, which is the caller's mistake.
func parseImages(args []string) ([]imageref.Ref, error) {
	var refs []imageref.Ref
	given := map[string]string{} // repository → the argument that named it
	for _, s := range args {
		ref, err := imageref.Parse(s)
		if err != nil {
			return nil, usageError{err}
		}
		if first, ok := given[ref.Name]; ok {
			prev := refs[slices.IndexFunc(refs, func(r imageref.Ref) bool { return r.Name == ref.Name })]
			if prev != ref {
				return nil, usagef("--image %s and --image %s name the same image with different versions: pass one", first, s)
			}
			continue
		}
		given[ref.Name] = s
		refs = append(refs, ref)
	}
	return refs, nil
}

// forgeChoice is what the flags, else the config file, say of the forge.
type forgeChoice struct{ kind, apiURL string }

// splitList accepts repeated flags as well as comma or newline separated
// values, as GitHub Actions inputs are usually written.
func splitList(in []string) []string {
	var out []string
	for _, v := range in {
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

// secretArg reads a flag that takes either a file name or the secret itself
// (CI systems hand secrets over as variables, people as files).
func secretArg(flag, v string) ([]byte, error) {
	if strings.Contains(v, "-----BEGIN") {
		return []byte(v), nil
	}
	b, err := os.ReadFile(v)
	if err != nil {
		// Never echo v: it may be a secret that merely lacks a PEM header.
		return nil, usagef("%s: cannot read the key file (pass a file name or the PEM text itself)", flag)
	}
	return b, nil
}

// identities picks the commit's author and committer: --author, then
// git's own GIT_AUTHOR_* and GIT_COMMITTER_* variables (each replacing one
// field, as in git), then the CI system's bot or user, then git config.
// The committer is the author unless GIT_COMMITTER_* or, without
// --author, the fallback identity says otherwise.
func identities(flag string, getenv func(string) string, dir string, local bool) (author, committer gitrepo.Identity, err error) {
	fallback := func() gitrepo.Identity {
		if id, ok := ciIdentity(getenv); ok {
			return id
		}
		if !local {
			dir = ""
		}
		id, _ := gitrepo.ConfiguredIdentity(dir)
		return id
	}
	var base gitrepo.Identity
	if flag != "" {
		a, err := mail.ParseAddress(flag)
		if err != nil || a.Name == "" {
			return author, committer, usagef("--author %q: want \"Name <email>\"", flag)
		}
		author = gitrepo.Identity{Name: a.Name, Email: a.Address}
		base = author
	} else {
		base = fallback()
		author = fromEnv(base, getenv, "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL")
	}
	if author.Name == "" || author.Email == "" {
		return author, committer, usagef("no commit author: pass --author \"Name <email>\", set GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL, or set git config user.name and user.email")
	}
	if base.Name == "" || base.Email == "" {
		base = author
	}
	committer = fromEnv(base, getenv, "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")
	if committer == author {
		committer = gitrepo.Identity{}
	}
	return author, committer, nil
}

// fromEnv replaces id's name and email with the variables that are set.
func fromEnv(id gitrepo.Identity, getenv func(string) string, nameVar, emailVar string) gitrepo.Identity {
	if v := strings.TrimSpace(getenv(nameVar)); v != "" {
		id.Name = v
	}
	if v := strings.TrimSpace(getenv(emailVar)); v != "" {
		id.Email = v
	}
	return id
}

// ciIdentity is the identity a CI system gives its jobs, when it gives one.
func ciIdentity(getenv func(string) string) (gitrepo.Identity, bool) {
	if getenv("GITHUB_ACTIONS") == "true" {
		return gitrepo.Identity{Name: "github-actions[bot]", Email: "41898282+github-actions[bot]@users.noreply.github.com"}, true
	}
	if getenv("GITLAB_CI") == "true" && getenv("GITLAB_USER_NAME") != "" && getenv("GITLAB_USER_EMAIL") != "" {
		return gitrepo.Identity{Name: getenv("GITLAB_USER_NAME"), Email: getenv("GITLAB_USER_EMAIL")}, true
	}
	return gitrepo.Identity{}, false
}

// ciLinks finds the source commit and pipeline of the CI job running bump.
func ciLinks(getenv func(string) string) bump.CI {
	switch {
	case getenv("GITHUB_ACTIONS") == "true":
		server, repo := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY")
		if server == "" || repo == "" {
			return bump.CI{}
		}
		var ci bump.CI
		if sha := getenv("GITHUB_SHA"); sha != "" {
			ci.SourceURL = server + "/" + repo + "/commit/" + sha
		}
		if id := getenv("GITHUB_RUN_ID"); id != "" {
			ci.PipelineURL = server + "/" + repo + "/actions/runs/" + id
		}
		return ci
	case getenv("GITLAB_CI") == "true":
		var ci bump.CI
		if p, sha := getenv("CI_PROJECT_URL"), getenv("CI_COMMIT_SHA"); p != "" && sha != "" {
			ci.SourceURL = p + "/-/commit/" + sha
		}
		ci.PipelineURL = getenv("CI_PIPELINE_URL")
		return ci
	}
	return bump.CI{}
}

func readFile(flag, name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, usagef("%s: %v", flag, err)
	}
	return b, nil
}

// orDefault reads a string flag, falling back to def when it is set but
// empty: CI systems pass unset inputs as empty variables.
func orDefault(c *cli.Context, name, def string) string {
	if v := c.String(name); v != "" {
		return v
	}
	return def
}
