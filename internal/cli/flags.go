package cli

import (
	"flag"
	"os"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/bump-gitops/bump/internal/config"
)

// Flag categories, shown as groups in --help.
const (
	catImages = "Images and files"
	catGit    = "Repository and git"
	catPR     = "Pull / merge request"
	catAuth   = "Credentials"
	catOutput = "Output and behaviour"
)

// env returns the environment variables a flag reads, BUMP_<NAME> first.
// A variable that is set but empty is left out: CI systems pass unset
// inputs that way, and urfave/cli would take it as a value ("" for a
// string, false for a bool) that hides .bump.yaml and the defaults.
func env(name string, more ...string) []string {
	return nonEmpty(append([]string{"BUMP_" + name}, more...))
}

func nonEmpty(vars []string) []string {
	out := vars[:0:0]
	for _, v := range vars {
		if val, ok := os.LookupEnv(v); !ok || val != "" {
			out = append(out, v)
		}
	}
	return out
}

// flags are bump's flags, in the order --help shows them within each
// category. A command that also commits and opens pull requests (such as
// a future promote) reuses gitFlags, prFlags, authFlags and outputFlags.
func flags() []cli.Flag {
	return slices.Concat(imageFlags(), gitFlags(), prFlags(), authFlags(), outputFlags())
}

// imageFlags: the images to bump, the files to look at, the config file.
func imageFlags() []cli.Flag {
	return withBools(
		&cli.StringSliceFlag{Name: "image", Aliases: []string{"i"}, Category: catImages, EnvVars: env("IMAGE"),
			Usage: "image to bump, as `NAME:TAG`, NAME@DIGEST or NAME:TAG@DIGEST (repeatable; comma-separated in the environment)"},
		&cli.StringFlag{Name: "dir", Aliases: []string{"C"}, Category: catImages, EnvVars: env("DIR"), Value: ".",
			Usage: "local checkout to work in when no --repo is given"},
		&cli.StringSliceFlag{Name: "path", Aliases: []string{"p"}, Category: catImages, EnvVars: env("PATH"),
			Usage: "only look below this relative `PATH` (repeatable)"},
		&cli.StringFlag{Name: "env", Category: catImages, EnvVars: env("ENV"),
			Usage: "use the named environment of the config file (its paths, base, labels…)"},
		&cli.StringFlag{Name: "config", Category: catImages, EnvVars: env("CONFIG"),
			Usage: "the pipeline's config `FILE`, layered over the manifests repo's own .bump.yaml (default: .bump.yaml in --dir, if present)"},
		&cli.BoolFlag{Name: "skip-invalid", Category: catImages, EnvVars: env("SKIP_INVALID"),
			Usage: "warn about and skip malformed YAML files instead of failing"},
		&cli.BoolFlag{Name: "allow-downgrade", Category: catImages, EnvVars: env("ALLOW_DOWNGRADE"),
			Usage: "allow replacing a higher version tag with a lower one (rollbacks); tags that are not versions (latest, SHAs, dates) are never compared"},
	)
}

// gitFlags: where to commit and how.
func gitFlags() []cli.Flag {
	return withBools(
		&cli.StringFlag{Name: "repo", Aliases: []string{"r"}, Category: catGit, EnvVars: env("REPO"),
			Usage: "manifests repository `URL` to clone (https, ssh, file:// or a path); omit to work in --dir"},
		&cli.StringFlag{Name: "base", Category: catGit, EnvVars: env("BASE"),
			Usage: "base `BRANCH` (default: the remote's default branch)"},
		&cli.StringFlag{Name: "branch", Category: catGit, EnvVars: env("BRANCH"),
			Usage: "head branch `TEMPLATE` (default: bump/<image names>)"},
		&cli.StringFlag{Name: "message", Category: catGit, EnvVars: env("MESSAGE"),
			Usage: "commit message `TEMPLATE` (first line; the body lists every change)"},
		&cli.BoolFlag{Name: "push-to-base", Category: catGit, EnvVars: env("PUSH_TO_BASE"),
			Usage: "commit straight onto the base branch, no pull request (retries lost races)"},
		&cli.BoolFlag{Name: "no-pr", Category: catGit, EnvVars: env("NO_PR"),
			Usage: "push the branch but open no pull request"},
		&cli.BoolFlag{Name: "commit", Category: catGit, EnvVars: env("COMMIT"),
			Usage: "local checkout: commit the change on a new branch"},
		&cli.BoolFlag{Name: "push", Category: catGit, EnvVars: env("PUSH"),
			Usage: "local checkout: commit and push the branch to origin"},
		&cli.BoolFlag{Name: "pr", Category: catGit, EnvVars: env("PR"),
			Usage: "local checkout: commit, push and open a pull request"},
		&cli.StringFlag{Name: "author", Category: catGit, EnvVars: env("AUTHOR"),
			Usage: "commit author as `\"Name <email>\"` (default: GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL, else the CI bot, else git config; GIT_COMMITTER_* name the committer)"},
		&cli.StringFlag{Name: "signing-key", Category: catGit, EnvVars: env("SIGNING_KEY"),
			Usage: "armored OpenPGP private key `FILE` (or the key itself) to sign the commit"},
		&cli.BoolFlag{Name: "commit-via-api", Category: catGit, EnvVars: env("COMMIT_VIA_API"),
			Usage: "GitHub: create the commit through the API so it shows as Verified"},
	)
}

// prFlags: the forge and the pull request.
func prFlags() []cli.Flag {
	return withBools(
		&cli.StringFlag{Name: "forge", Category: catPR, EnvVars: env("FORGE"),
			Usage: forgeFlagUsage()},
		&cli.StringFlag{Name: "forge-url", Category: catPR, EnvVars: env("FORGE_URL"),
			Usage: forgeURLFlagUsage()},
		&cli.StringFlag{Name: "title", Category: catPR, EnvVars: env("TITLE"),
			Usage: "pull request title `TEMPLATE`"},
		&cli.StringFlag{Name: "body", Category: catPR, EnvVars: env("BODY"),
			Usage: "pull request body `TEMPLATE` (default: a table of every change)"},
		&cli.StringSliceFlag{Name: "label", Category: catPR, EnvVars: env("LABEL"),
			Usage: "label to set (repeatable)"},
		&cli.StringSliceFlag{Name: "reviewer", Category: catPR, EnvVars: env("REVIEWER"),
			Usage: "reviewer to request: a user, or a GitHub team as org/team (repeatable)"},
		&cli.StringSliceFlag{Name: "assignee", Category: catPR, EnvVars: env("ASSIGNEE"),
			Usage: "user to assign (repeatable)"},
		&cli.BoolFlag{Name: "draft", Category: catPR, EnvVars: env("DRAFT"),
			Usage: "open the pull request as a draft"},
		&cli.BoolFlag{Name: "auto-merge", Category: catPR, EnvVars: env("AUTO_MERGE"),
			Usage: "enable auto-merge (GitHub) / merge when the pipeline succeeds (GitLab)"},
		&cli.StringFlag{Name: "merge-method", Category: catPR, EnvVars: env("MERGE_METHOD"), Value: "squash",
			Usage: "auto-merge method: merge, squash or rebase"},
		&cli.BoolFlag{Name: "remove-source-branch", Category: catPR, EnvVars: env("REMOVE_SOURCE_BRANCH"),
			Usage: "GitLab: delete the source branch when the merge request is merged"},
		&cli.BoolFlag{Name: "squash", Category: catPR, EnvVars: env("SQUASH"),
			Usage: "GitLab: squash commits when the merge request is merged"},
	)
}

// authFlags: tokens and keys.
func authFlags() []cli.Flag {
	return withBools(
		&cli.StringFlag{Name: "token", Category: catAuth, EnvVars: nonEmpty(tokenVars),
			Usage: "token for git over HTTPS and the forge API"},
		&cli.StringFlag{Name: "ssh-key", Category: catAuth, EnvVars: env("SSH_KEY", "SSH_PRIVATE_KEY"),
			Usage: "SSH private key `FILE` (or the key itself) for ssh repository URLs"},
		&cli.StringFlag{Name: "ssh-known-hosts", Category: catAuth, EnvVars: env("SSH_KNOWN_HOSTS", "SSH_KNOWN_HOSTS"),
			Usage: "known_hosts `FILE` (or its content) to check SSH host keys against"},
		&cli.Int64Flag{Name: "github-app-id", Category: catAuth, EnvVars: env("GITHUB_APP_ID"),
			Usage: "GitHub App `ID`: push and open the PR with an installation token"},
		&cli.StringFlag{Name: "github-app-key", Category: catAuth, EnvVars: env("GITHUB_APP_KEY"),
			Usage: "GitHub App private key `FILE` (or the PEM itself)"},
		&cli.BoolFlag{Name: "allow-insecure-http", Category: catAuth, EnvVars: env("ALLOW_INSECURE_HTTP"),
			Usage: "send credentials over plain http:// to hosts other than loopback (refused by default)"},
	)
}

// outputFlags: what bump prints and how long it may take.
func outputFlags() []cli.Flag {
	return withBools(
		&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Category: catOutput, EnvVars: env("DRY_RUN"),
			Usage: "print a unified diff and change nothing"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Category: catOutput, EnvVars: env("OUTPUT"), Value: "text",
			Usage: "output format: text or json"},
		&cli.DurationFlag{Name: "timeout", Category: catOutput, EnvVars: env("TIMEOUT"), Value: 0,
			Usage: "bound the whole run (e.g. 5m); 0 means no limit"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Category: catOutput, EnvVars: env("VERBOSE"),
			Usage: "log each step to stderr"},
		&cli.StringFlag{Name: "dotenv", Category: catOutput, EnvVars: env("DOTENV"),
			Usage: "also write the outcome as a dotenv `FILE` (BUMP_CHANGED, BUMP_PR_URL…) for GitLab CI reports"},
		&cli.StringFlag{Name: "log-format", Category: catOutput, EnvVars: env("LOG_FORMAT"), Value: "text",
			Usage: "log format: text or json"},
	)
}

// withBools wraps the bool flags in boolFlag.
func withBools(list ...cli.Flag) []cli.Flag {
	for i, f := range list {
		if b, ok := f.(*cli.BoolFlag); ok {
			list[i] = &boolFlag{b}
		}
	}
	return list
}

// boolFlag reads its variables with config.ParseBool, as .bump.yaml reads
// its yes/no keys: urfave/cli's strconv.ParseBool refuses "yes" and
// words its refusal in Go's terms.
type boolFlag struct{ *cli.BoolFlag }

func (f *boolFlag) Apply(set *flag.FlagSet) error {
	for _, name := range f.EnvVars {
		val, ok := os.LookupEnv(name)
		if !ok {
			continue
		}
		v, err := config.ParseBool(val)
		if err != nil {
			return usagef("%s=%q: %v", name, val, err)
		}
		f.Value, f.HasBeenSet = v, true
		break
	}
	vars := f.EnvVars
	f.EnvVars = nil // read above; the embedded Apply would read them again
	defer func() { f.EnvVars = vars }()
	return f.BoolFlag.Apply(set)
}
