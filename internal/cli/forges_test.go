package cli

import (
	"slices"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/bump-gitops/bump/internal/forge"
)

// TestForgeTableComplete checks that every entry can do all a forge must:
// a new forge added as one entry fails here when a field is missing.
func TestForgeTableComplete(t *testing.T) {
	seen := map[forge.Kind]bool{}
	for _, f := range forges {
		k := f.site.Kind
		if k == "" || seen[k] {
			t.Errorf("kind %q empty or repeated", k)
		}
		seen[k] = true
		if len(f.site.Hosts) == 0 || f.title == "" || f.selfHosted == "" || f.defaultAPIURL == "" || f.selfHostedAPIURL == nil ||
			len(f.tokenVars) == 0 || f.gitUser == "" || f.newForge == nil || f.site.CI.Marker == "" || f.site.CI.ServerURL == "" {
			t.Errorf("%s: incomplete entry %+v", k, f)
		}
		if forge.URLHost(f.defaultAPIURL) == "" {
			t.Errorf("%s: default API URL %q is not an http(s) URL", k, f.defaultAPIURL)
		}
		fg, committer, err := f.newForge(forgeArgs{apiURL: f.defaultAPIURL, repo: forge.Repo{Host: f.site.Hosts[0], Path: "acme/manifests"}, token: "t", openPR: true})
		if err != nil || fg == nil {
			t.Errorf("%s: newForge: %v, %v", k, fg, err)
		}
		if (committer != nil) != f.commitsViaAPI {
			t.Errorf("%s: commitsViaAPI = %v but newForge returned committer %v", k, f.commitsViaAPI, committer)
		}
		if got, err := forge.Detect(f.site.Hosts[0], func(string) string { return "" }, forgeSites()); got != k || err != nil {
			t.Errorf("%s: Detect(%s) = %q, %v", k, f.site.Hosts[0], got, err)
		}
	}
}

// TestForgeTableKeepsNames pins what the table derives to what bump said
// before the table existed.
func TestForgeTableKeepsNames(t *testing.T) {
	if want := []string{"BUMP_TOKEN", "GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN", "CI_JOB_TOKEN", "GITEA_TOKEN"}; !slices.Equal(tokenVars, want) {
		t.Errorf("tokenVars = %q, want %q", tokenVars, want)
	}
	if got := forgeTokenHint(); got != "GITHUB_TOKEN / GITLAB_TOKEN / GITEA_TOKEN" {
		t.Errorf("forgeTokenHint = %q", got)
	}
	if got := apiCommitForges(); got != "GitHub" {
		t.Errorf("apiCommitForges = %q", got)
	}
	if got := effectiveAPIURL(forge.GitLab, ""); got != "https://gitlab.com" {
		t.Errorf("effectiveAPIURL(gitlab) = %q", got)
	}
	// The help of --forge and --forge-url names every forge of the table.
	for _, fl := range flags() {
		sf, ok := fl.(*cli.StringFlag)
		if !ok {
			continue
		}
		switch sf.Name {
		case "forge":
			if sf.Usage != forgeFlagUsage() {
				t.Errorf("--forge usage %q, want %q", sf.Usage, forgeFlagUsage())
			}
		case "forge-url":
			if sf.Usage != forgeURLFlagUsage() {
				t.Errorf("--forge-url usage %q, want %q", sf.Usage, forgeURLFlagUsage())
			}
		}
	}
}
