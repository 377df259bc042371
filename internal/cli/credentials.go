package cli

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bump-gitops/bump/internal/bump"
	"github.com/bump-gitops/bump/internal/forge"
	"github.com/bump-gitops/bump/internal/forge/github"
	"github.com/bump-gitops/bump/internal/forge/gitlab"
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
	jobToken := kind == forge.GitLab && token != "" && token == getenv("CI_JOB_TOKEN")
	if id := c.Int64("github-app-id"); id != 0 {
		if err := forge.CheckSecure(effectiveAPIURL(kind, apiURL), insecure); err != nil {
			return usageError{err}
		}
		if kind != forge.GitHub {
			return usagef("--github-app-id works with GitHub repositories only")
		}
		keyArg := c.String("github-app-key")
		if keyArg == "" {
			return usagef("--github-app-id needs --github-app-key (or BUMP_GITHUB_APP_KEY)")
		}
		key, err := secretArg("--github-app-key", keyArg)
		if err != nil {
			return err
		}
		opts.Secrets = append(opts.Secrets, string(key))
		token, err = github.AppToken(ctx, github.AppOptions{BaseURL: apiURL, AppID: id, PrivateKey: key, Repo: repo})
		if err != nil {
			return fmt.Errorf("github app %d: %w", id, gitrepo.Scrub(err, opts.Secrets...))
		}
		opts.Secrets = append(opts.Secrets, token)
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
		return usagef("no token for %s: set BUMP_TOKEN (or GITHUB_TOKEN / GITLAB_TOKEN), pass --token, or use a GitHub App", repo)
	}
	if err := forge.CheckSecure(effectiveAPIURL(kind, apiURL), insecure); err != nil {
		return usageError{err}
	}
	switch kind {
	case forge.GitHub:
		gh, err := github.New(github.Options{BaseURL: apiURL, Token: token, Repo: repo})
		if err != nil {
			return err
		}
		opts.Forge = gh
		if c.Bool("commit-via-api") {
			opts.Committer = apiCommitter{gh}
		}
	case forge.GitLab:
		if c.Bool("commit-via-api") {
			return usagef("--commit-via-api is for GitHub; GitLab signs nothing on commit")
		}
		if jobToken && opts.Mode == bump.OpenPR {
			return usagef("CI_JOB_TOKEN cannot push to another project or open merge requests: create a project access token with the api and write_repository scopes and pass it as GITLAB_TOKEN (or BUMP_TOKEN)")
		}
		gl, err := gitlab.New(gitlab.Options{BaseURL: apiURL, Token: token, JobToken: jobToken, Repo: repo})
		if err != nil {
			return err
		}
		opts.Forge = gl
	}
	return nil
}

// tokenVars are where a token may come from, in order.
var tokenVars = []string{"BUMP_TOKEN", "GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN", "CI_JOB_TOKEN"}

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

// ciHosts reports whether a token from source is one the CI job was given
// (GitLab's CI_JOB_TOKEN, GITHUB_TOKEN in GitHub Actions) and the hosts of
// the CI's own server it may go to. No server named means no host.
func ciHosts(source string, getenv func(string) string) ([]string, bool) {
	var urls []string
	switch {
	case source == "CI_JOB_TOKEN":
		urls = []string{getenv("CI_SERVER_URL"), getenv("CI_API_V4_URL")}
	case source == "GITHUB_TOKEN" && getenv("GITHUB_ACTIONS") == "true":
		server := getenv("GITHUB_SERVER_URL")
		if server == "" {
			server = "https://github.com"
		}
		urls = []string{server, getenv("GITHUB_API_URL")}
		if sameHost(server, "github.com") {
			urls = append(urls, github.DefaultBaseURL)
		}
	default:
		return nil, false
	}
	var hosts []string
	for _, u := range urls {
		if h := urlHost(u); h != "" && !hostIn(h, hosts) {
			hosts = append(hosts, h)
		}
	}
	return hosts, true
}

// urlHost is the lower-case host name of an http(s) URL, "" for anything else.
func urlHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

func hostIn(host string, hosts []string) bool {
	return host != "" && slices.Contains(hosts, strings.ToLower(host))
}

// effectiveAPIURL is the API base the adapter will call: apiURL, else the
// forge's public default.
func effectiveAPIURL(kind forge.Kind, apiURL string) string {
	switch {
	case apiURL != "":
		return apiURL
	case kind == forge.GitHub:
		return github.DefaultBaseURL
	case kind == forge.GitLab:
		return "https://gitlab.com"
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
		kind, err := forge.ParseKind(kindArg)
		if err != nil {
			return "", repo, usageError{err}
		}
		return kind, repo, nil
	}
	kind, err := forge.Detect(repo.Host, getenv)
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
	switch kind {
	case forge.GitHub:
		if repo.Host != "github.com" && getenv("GITHUB_API_URL") != "" && sameHost(getenv("GITHUB_SERVER_URL"), repo.Host) {
			return getenv("GITHUB_API_URL")
		}
		if repo.Host != "github.com" {
			return "https://" + repo.Host + "/api/v3/"
		}
	case forge.GitLab:
		if repo.Host != "gitlab.com" && getenv("CI_SERVER_URL") != "" && sameHost(getenv("CI_SERVER_URL"), repo.Host) {
			return getenv("CI_SERVER_URL")
		}
		if repo.Host != "gitlab.com" {
			return "https://" + repo.Host
		}
	}
	return ""
}

func sameHost(rawURL, host string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && strings.EqualFold(u.Hostname(), host)
}

// gitUsername is what each forge expects beside a token over HTTPS.
func gitUsername(kind forge.Kind, jobToken bool) string {
	switch {
	case jobToken:
		return "gitlab-ci-token"
	case kind == forge.GitLab:
		return "oauth2"
	}
	return "x-access-token"
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

// apiCommitter adapts the GitHub client to bump.APICommitter.
type apiCommitter struct{ gh *github.Client }

func (a apiCommitter) CommitOnBranch(ctx context.Context, c bump.APICommit) (string, error) {
	return a.gh.CommitOnBranch(ctx, github.CommitRequest{Branch: c.Branch, BaseSHA: c.BaseSHA, ExpectedHead: c.ExpectedHead, Files: c.Files, Headline: c.Headline, Body: c.Body})
}
