package cli

import (
	"context"
	"strings"

	"github.com/bump-gitops/bump/internal/bump"
	"github.com/bump-gitops/bump/internal/forge"
	"github.com/bump-gitops/bump/internal/forge/gitea"
	"github.com/bump-gitops/bump/internal/forge/github"
	"github.com/bump-gitops/bump/internal/forge/gitlab"
)

// The adapters satisfy the interfaces internal/bump declares.
var (
	_ bump.Forge        = (*github.Client)(nil)
	_ bump.Forge        = (*gitlab.Client)(nil)
	_ bump.Forge        = (*gitea.Client)(nil)
	_ bump.APICommitter = githubCommitter{}
)

// forgeEntry is everything the cli knows about one kind of forge. Adding a
// forge is one entry in forges and one adapter package.
type forgeEntry struct {
	// site is how the forge is recognised: its kind, public hosts and CI.
	site forge.Site
	// title is the forge's name in messages: "GitHub"; selfHosted names
	// its self-hosted server in help: "GitHub Enterprise Server".
	title, selfHosted string
	// defaultAPIURL is the public service's API base.
	defaultAPIURL string
	// selfHostedAPIURL is the API base of a server of this kind on host.
	selfHostedAPIURL func(host string) string
	// tokenVars are the variables a token for this forge may come from,
	// after BUMP_TOKEN, in order; the first is the one to suggest.
	tokenVars []string
	// gitUser is the git user name beside a token over HTTPS; jobGitUser
	// beside the token the CI hands the job ("" = gitUser).
	gitUser, jobGitUser string
	// commitsViaAPI says newForge returns an APICommitter (--commit-via-api).
	commitsViaAPI bool
	// newForge builds the adapter for one repository.
	newForge func(a forgeArgs) (bump.Forge, bump.APICommitter, error)
}

// forgeArgs is what a forge's constructor gets from the command line.
type forgeArgs struct {
	apiURL   string // "" = the public service
	repo     forge.Repo
	token    string
	jobToken bool // token is the one the CI handed the job (site.CI.Token)
	openPR   bool // the run opens a pull request
}

// forges is the table of forges bump drives, in the order they are named
// in help and messages.
var forges = []forgeEntry{
	{
		site: forge.Site{
			Kind:  forge.GitHub,
			Hosts: []string{"github.com", "www.github.com"},
			CI: forge.CI{
				Marker: "GITHUB_ACTIONS",
				// Gitea's and Forgejo's runners set GITHUB_ACTIONS=true too.
				Excludes:      []string{"GITEA_ACTIONS", "FORGEJO_ACTIONS"},
				ServerURL:     "GITHUB_SERVER_URL",
				APIURL:        "GITHUB_API_URL",
				DefaultServer: "https://github.com",
				Token:         "GITHUB_TOKEN",
			},
		},
		title:            "GitHub",
		selfHosted:       "GitHub Enterprise Server",
		defaultAPIURL:    github.DefaultBaseURL,
		selfHostedAPIURL: func(host string) string { return "https://" + host + "/api/v3/" },
		tokenVars:        []string{"GITHUB_TOKEN", "GH_TOKEN"},
		gitUser:          "x-access-token",
		commitsViaAPI:    true,
		newForge:         newGitHub,
	},
	{
		site: forge.Site{
			Kind:  forge.GitLab,
			Hosts: []string{"gitlab.com", "www.gitlab.com"},
			CI: forge.CI{
				Marker:       "GITLAB_CI",
				ServerURL:    "CI_SERVER_URL",
				ServerHost:   "CI_SERVER_HOST",
				APIURL:       "CI_SERVER_URL", // the adapter adds /api/v4
				MoreURLs:     []string{"CI_API_V4_URL"},
				Token:        "CI_JOB_TOKEN",
				TokenOwnName: true,
			},
		},
		title:            "GitLab",
		selfHosted:       "self-hosted GitLab",
		defaultAPIURL:    gitlab.DefaultBaseURL,
		selfHostedAPIURL: func(host string) string { return "https://" + host },
		tokenVars:        []string{"GITLAB_TOKEN", "CI_JOB_TOKEN"},
		gitUser:          "oauth2",
		jobGitUser:       "gitlab-ci-token",
		newForge:         newGitLab,
	},
	{
		site: forge.Site{
			Kind:    forge.Gitea,
			Hosts:   []string{"gitea.com", "codeberg.org"},
			Aliases: []string{"forgejo"},
			CI: forge.CI{
				// act_runner sets GITEA_ACTIONS; Forgejo's runner sets
				// FORGEJO_ACTIONS (and, like act_runner, the GitHub names).
				Marker:     "GITEA_ACTIONS",
				AltMarkers: []string{"FORGEJO_ACTIONS"},
				ServerURL:  "GITHUB_SERVER_URL",
				APIURL:     "GITHUB_API_URL",
				MoreURLs:   []string{"FORGEJO_SERVER_URL"},
				Token:      "GITHUB_TOKEN",
			},
		},
		title:            "Gitea",
		selfHosted:       "Gitea/Forgejo",
		defaultAPIURL:    "https://gitea.com",
		selfHostedAPIURL: func(host string) string { return "https://" + host },
		tokenVars:        []string{"GITEA_TOKEN"},
		gitUser:          "x-access-token", // Gitea takes a token as the password under any user
		newForge:         newGitea,
	},
}

func newGitHub(a forgeArgs) (bump.Forge, bump.APICommitter, error) {
	gh, err := github.New(github.Options{BaseURL: a.apiURL, Token: a.token, Repo: a.repo})
	if err != nil {
		return nil, nil, err
	}
	return gh, githubCommitter{gh}, nil
}

func newGitea(a forgeArgs) (bump.Forge, bump.APICommitter, error) {
	gt, err := gitea.New(gitea.Options{BaseURL: a.apiURL, Token: a.token, Repo: a.repo})
	if err != nil {
		return nil, nil, err
	}
	return gt, nil, nil
}

func newGitLab(a forgeArgs) (bump.Forge, bump.APICommitter, error) {
	if a.jobToken && a.openPR {
		return nil, nil, usagef("CI_JOB_TOKEN cannot push to another project or open merge requests: create a project access token with the api and write_repository scopes and pass it as GITLAB_TOKEN (or BUMP_TOKEN)")
	}
	gl, err := gitlab.New(gitlab.Options{BaseURL: a.apiURL, Token: a.token, JobToken: a.jobToken, Repo: a.repo})
	if err != nil {
		return nil, nil, err
	}
	return gl, nil, nil
}

// githubCommitter adapts the GitHub client to bump.APICommitter.
type githubCommitter struct{ gh *github.Client }

func (a githubCommitter) CommitOnBranch(ctx context.Context, c bump.APICommit) (string, error) {
	return a.gh.CommitOnBranch(ctx, github.CommitRequest{Branch: c.Branch, BaseSHA: c.BaseSHA, ExpectedHead: c.ExpectedHead, Files: c.Files, Headline: c.Headline, Body: c.Body})
}

// forgeOf is the table entry for kind, nil for none.
func forgeOf(kind forge.Kind) *forgeEntry {
	for i := range forges {
		if forges[i].site.Kind == kind {
			return &forges[i]
		}
	}
	return nil
}

// forgeSites are the table's detection rules, for package forge.
func forgeSites() []forge.Site {
	sites := make([]forge.Site, len(forges))
	for i, f := range forges {
		sites[i] = f.site
	}
	return sites
}

// tokenVars are where a token may come from, in order.
var tokenVars = allTokenVars()

func allTokenVars() []string {
	vars := []string{"BUMP_TOKEN"}
	for _, f := range forges {
		vars = append(vars, f.tokenVars...)
	}
	return vars
}

// forgeTokenHint names each forge's own token variable: "GITHUB_TOKEN / GITLAB_TOKEN".
func forgeTokenHint() string {
	var vars []string
	for _, f := range forges {
		vars = append(vars, f.tokenVars[0])
	}
	return strings.Join(vars, " / ")
}

// apiCommitForges names the forges that commit through their API: "GitHub".
func apiCommitForges() string {
	var names []string
	for _, f := range forges {
		if f.commitsViaAPI {
			names = append(names, f.title)
		}
	}
	return strings.Join(names, ", ")
}

// forgeFlagUsage is the help text of --forge.
func forgeFlagUsage() string {
	return "`NAME` of the forge, " + orJoin(forges, func(f forgeEntry) string { return string(f.site.Kind) }) + " (default: detected from the repository URL)"
}

// forgeURLFlagUsage is the help text of --forge-url.
func forgeURLFlagUsage() string {
	return "API base `URL` for " + orJoin(forges, func(f forgeEntry) string { return f.selfHosted })
}

// orJoin names each entry as "a or b", "a, b or c".
func orJoin(entries []forgeEntry, name func(forgeEntry) string) string {
	var b strings.Builder
	for i, f := range entries {
		switch {
		case i == 0:
		case i == len(entries)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(name(f))
	}
	return b.String()
}
