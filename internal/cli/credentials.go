package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bump-gitops/bump/internal/bump"
	"github.com/bump-gitops/bump/internal/forge"
	"github.com/bump-gitops/bump/internal/forge/github"
	"github.com/bump-gitops/bump/internal/gitrepo"
)

// withCredentials sets git auth and, when a pull request or an API commit
// is wanted, the forge client. The token is used for both.
func withCredentials(ctx context.Context, c *cli.Context, getenv func(string) string, opts *bump.Options, fc forgeChoice, needForge bool) error {
	repoURL := opts.RepoURL
	if repoURL == "" {
		u, err := gitrepo.OriginURL(opts.Dir)
		if err != nil {
			return err
		}
		repoURL = u
	}
	kind, repo, err := whichForge(fc.kind, getenv, repoURL, needForge)
	if err != nil {
		return err
	}
	apiURL := forgeURL(fc.apiURL, getenv, kind, repo)

	token, source := findToken(c.String("token"), getenv)
	if token != "" {
		opts.Secrets = append(opts.Secrets, token)
	}
	// A token the CI put in the environment is for the CI's own server:
	// a --repo elsewhere does not get it (an explicit token goes where
	// the user points it).
	var withheld string
	if hosts, ambient := ciHosts(source, getenv); ambient && !hostIn(urlHost(repoURL), hosts) {
		withheld = fmt.Sprintf("%s from the CI is only sent to its own server (%s), not to %s", source, strings.Join(hosts, ", "), orNone(urlHost(repoURL)))
		token = ""
	} else if ambient && needForge && !hostIn(urlHost(effectiveAPIURL(kind, apiURL)), hosts) {
		return usagef("%s from the CI is only sent to its own server (%s), not to the API at %s", source, strings.Join(hosts, ", "), urlHost(effectiveAPIURL(kind, apiURL)))
	}
	insecure := c.Bool("allow-insecure-http")
	entry := forgeOf(kind)
	jobToken := entry != nil && entry.site.CI.Token != "" && token != "" && token == getenv(entry.site.CI.Token)
	if id := c.Int64("github-app-id"); id != 0 {
		if token, err = githubAppToken(ctx, c, opts, id, kind, apiURL, repo); err != nil {
			return err
		}
		jobToken = false
	}

	if sshURL(repoURL) {
		if err := sshAuth(c, opts); err != nil {
			return err
		}
	} else if token != "" {
		if err := forge.CheckSecure(repoURL, insecure); err != nil {
			return usageError{err}
		}
		opts.Auth.Username = gitUsername(kind, jobToken)
		opts.Auth.Password = token
	}

	if !needForge {
		return nil
	}
	if token == "" && withheld != "" {
		return usagef("no token for %s: %s; pass --token or BUMP_TOKEN to send a token there", repo, withheld)
	}
	if token == "" {
		return usagef("no token for %s: set BUMP_TOKEN (or %s), pass --token, or use a GitHub App", repo, forgeTokenHint())
	}
	if err := forge.CheckSecure(effectiveAPIURL(kind, apiURL), insecure); err != nil {
		return usageError{err}
	}
	if entry == nil {
		return nil
	}
	return attachForge(c, opts, entry, forgeArgs{apiURL: apiURL, repo: repo, token: token, jobToken: jobToken, openPR: opts.Mode == bump.OpenPR})
}

// githubAppToken exchanges the GitHub App's key for an installation token.
func githubAppToken(ctx context.Context, c *cli.Context, opts *bump.Options, id int64, kind forge.Kind, apiURL string, repo forge.Repo) (string, error) {
	if err := forge.CheckSecure(effectiveAPIURL(kind, apiURL), c.Bool("allow-insecure-http")); err != nil {
		return "", usageError{err}
	}
	if kind != forge.GitHub {
		return "", usagef("--github-app-id works with GitHub repositories only")
	}
	keyArg := c.String("github-app-key")
	if keyArg == "" {
		return "", usagef("--github-app-id needs --github-app-key (or BUMP_GITHUB_APP_KEY)")
	}
	key, err := secretArg("--github-app-key", keyArg)
	if err != nil {
		return "", err
	}
	opts.Secrets = append(opts.Secrets, string(key))
	token, err := github.AppToken(ctx, github.AppOptions{BaseURL: apiURL, AppID: id, PrivateKey: key, Repo: repo})
	if err != nil {
		return "", fmt.Errorf("github app %d: %w", id, gitrepo.Scrub(err, opts.Secrets...))
	}
	opts.Secrets = append(opts.Secrets, token)
	return token, nil
}

// attachForge builds the forge's adapter from the table entry and, for
// --commit-via-api, its API committer.
func attachForge(c *cli.Context, opts *bump.Options, entry *forgeEntry, a forgeArgs) error {
	viaAPI := c.Bool("commit-via-api")
	if viaAPI && !entry.commitsViaAPI {
		return usagef("--commit-via-api is for %s; %s signs nothing on commit", apiCommitForges(), entry.title)
	}
	f, committer, err := entry.newForge(a)
	if err != nil {
		return err
	}
	opts.Forge = f
	if viaAPI {
		opts.Committer = committer
	}
	return nil
}

// findToken returns the token and where it came from: the variable that
// holds it, or "--token".
func findToken(flagValue string, getenv func(string) string) (token, source string) {
	if flagValue != "" {
		// urfave/cli reads the variables too: name the one it took.
		for _, k := range tokenVars {
			if getenv(k) == flagValue {
				return flagValue, k
			}
		}
		return flagValue, "--token"
	}
	// urfave/cli takes the first variable that is set, even when empty;
	// an Action input mapped to an empty BUMP_TOKEN must not hide GITHUB_TOKEN.
	for _, k := range tokenVars {
		if v := getenv(k); v != "" {
			return v, k
		}
	}
	return "", ""
}

// ciHosts reports whether a token from source is one a CI job was given
// (GitLab's CI_JOB_TOKEN, GITHUB_TOKEN in GitHub Actions) and the hosts of
// the CI's own server it may go to. No server named means no host.
func ciHosts(source string, getenv func(string) string) ([]string, bool) {
	for _, f := range forges {
		if f.site.CI.Ambient(source, getenv) {
			return f.site.CI.Hosts(getenv, f.defaultAPIURL), true
		}
	}
	return nil, false
}

// urlHost is the lower-case host name of an http(s) URL, "" for anything else.
func urlHost(raw string) string { return forge.URLHost(raw) }

func hostIn(host string, hosts []string) bool {
	return host != "" && slices.Contains(hosts, strings.ToLower(host))
}

// effectiveAPIURL is the API base the adapter will call: apiURL, else the
// forge's public default.
func effectiveAPIURL(kind forge.Kind, apiURL string) string {
	if apiURL != "" {
		return apiURL
	}
	if f := forgeOf(kind); f != nil {
		return f.defaultAPIURL
	}
	return ""
}

func orNone(s string) string {
	if s == "" {
		return "a repository without a host"
	}
	return s
}

// whichForge names the forge and the repository on it. Without a need for
// the API an unknown host is fine: plain git needs no forge.
func whichForge(kindArg string, getenv func(string) string, repoURL string, needForge bool) (forge.Kind, forge.Repo, error) {
	repo, err := forge.ParseRepoURL(repoURL)
	if err != nil {
		if needForge {
			return "", repo, usageError{err}
		}
		return "", repo, nil
	}
	if kindArg != "" {
		kind, err := forge.ParseKind(kindArg, forgeSites())
		if err != nil {
			return "", repo, usageError{err}
		}
		return kind, repo, nil
	}
	kind, err := forge.Detect(repo.Host, getenv, forgeSites())
	if err != nil && needForge {
		return "", repo, usageError{err}
	}
	return kind, repo, nil
}

// forgeURL is the API base: the flag, else what the CI job says about its
// own server when the repository lives there, else the public default.
func forgeURL(urlArg string, getenv func(string) string, kind forge.Kind, repo forge.Repo) string {
	if urlArg != "" {
		return urlArg
	}
	f := forgeOf(kind)
	if f == nil || repo.Host == f.site.Hosts[0] {
		return ""
	}
	if u := f.site.CI.JobAPIURL(repo.Host, getenv); u != "" {
		return u
	}
	return f.selfHostedAPIURL(repo.Host)
}

// gitUsername is what each forge expects beside a token over HTTPS.
func gitUsername(kind forge.Kind, jobToken bool) string {
	f := forgeOf(kind)
	switch {
	case f == nil:
		return "x-access-token"
	case jobToken && f.jobGitUser != "":
		return f.jobGitUser
	}
	return f.gitUser
}

func sshURL(u string) bool {
	if strings.HasPrefix(u, "ssh://") {
		return true
	}
	if strings.Contains(u, "://") || strings.HasPrefix(u, "/") || strings.HasPrefix(u, ".") {
		return false
	}
	host, _, ok := strings.Cut(u, ":")
	return ok && strings.Contains(host, "@")
}

func sshAuth(c *cli.Context, opts *bump.Options) error {
	keyArg := c.String("ssh-key")
	if keyArg == "" {
		return usagef("ssh repository URL needs --ssh-key (or SSH_PRIVATE_KEY)")
	}
	key, err := secretArg("--ssh-key", keyArg)
	if err != nil {
		return err
	}
	hostsArg := c.String("ssh-known-hosts")
	if hostsArg == "" {
		return usagef("ssh needs --ssh-known-hosts (or SSH_KNOWN_HOSTS): bump never skips host key checks")
	}
	hosts := []byte(hostsArg)
	if !strings.ContainsAny(hostsArg, " \n") {
		if hosts, err = readFile("--ssh-known-hosts", hostsArg); err != nil {
			return err
		}
	}
	opts.Secrets = append(opts.Secrets, string(key))
	opts.Auth.SSHKey, opts.Auth.KnownHosts = key, hosts
	return nil
}
