package forge

import (
	"strings"
	"testing"
)

func TestParseRepoURL(t *testing.T) {
	tests := []struct {
		in   string
		want Repo
	}{
		{"https://github.com/acme/manifests.git", Repo{"github.com", "acme/manifests"}},
		{"https://github.com/acme/manifests", Repo{"github.com", "acme/manifests"}},
		{"https://x-access-token:secret@github.com/acme/manifests.git", Repo{"github.com", "acme/manifests"}},
		{"git@github.com:acme/manifests.git", Repo{"github.com", "acme/manifests"}},
		{"ssh://git@gitlab.example.com:2222/group/sub/manifests.git", Repo{"gitlab.example.com", "group/sub/manifests"}},
		{"https://GitLab.com/group/sub/proj/", Repo{"gitlab.com", "group/sub/proj"}},
	}
	for _, tt := range tests {
		got, err := ParseRepoURL(tt.in)
		if err != nil {
			t.Errorf("ParseRepoURL(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseRepoURL(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"/srv/git/manifests", "./manifests", "https://github.com/", "https://user:hunter2@github.com/x"} {
		_, err := ParseRepoURL(bad)
		if err == nil {
			t.Errorf("ParseRepoURL(%q): no error", bad)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
}

// testSites mirror the cli's forge table (internal/cli/forges.go), which
// this package cannot import.
var testSites = []Site{
	{Kind: GitHub, Hosts: []string{"github.com", "www.github.com"}, CI: CI{Marker: "GITHUB_ACTIONS", Excludes: []string{"GITEA_ACTIONS", "FORGEJO_ACTIONS"}, ServerURL: "GITHUB_SERVER_URL", APIURL: "GITHUB_API_URL", DefaultServer: "https://github.com", Token: "GITHUB_TOKEN"}},
	{Kind: GitLab, Hosts: []string{"gitlab.com", "www.gitlab.com"}, CI: CI{Marker: "GITLAB_CI", ServerURL: "CI_SERVER_URL", ServerHost: "CI_SERVER_HOST", APIURL: "CI_SERVER_URL", MoreURLs: []string{"CI_API_V4_URL"}, Token: "CI_JOB_TOKEN", TokenOwnName: true}},
	{Kind: Gitea, Hosts: []string{"gitea.com", "codeberg.org"}, Aliases: []string{"forgejo"}, CI: CI{Marker: "GITEA_ACTIONS", AltMarkers: []string{"FORGEJO_ACTIONS"}, ServerURL: "GITHUB_SERVER_URL", APIURL: "GITHUB_API_URL", MoreURLs: []string{"FORGEJO_SERVER_URL"}, Token: "GITHUB_TOKEN"}},
}

func TestDetect(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	none := env(nil)
	if k, err := Detect("github.com", none, testSites); k != GitHub || err != nil {
		t.Errorf("github.com: %v %v", k, err)
	}
	if k, err := Detect("gitlab.com", none, testSites); k != GitLab || err != nil {
		t.Errorf("gitlab.com: %v %v", k, err)
	}
	ghes := env(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.acme.internal"})
	if k, err := Detect("github.acme.internal", ghes, testSites); k != GitHub || err != nil {
		t.Errorf("GHES: %v %v", k, err)
	}
	gl := env(map[string]string{"GITLAB_CI": "true", "CI_SERVER_HOST": "gitlab.acme.internal"})
	if k, err := Detect("gitlab.acme.internal", gl, testSites); k != GitLab || err != nil {
		t.Errorf("self-hosted GitLab: %v %v", k, err)
	}
	// A CI environment for another host must not make a guess.
	if _, err := Detect("git.example.org", gl, testSites); err == nil || !strings.Contains(err.Error(), "--forge") {
		t.Errorf("unknown host: err = %v, want a hint to pass --forge", err)
	}
}

func TestRepoParts(t *testing.T) {
	r := Repo{Host: "gitlab.com", Path: "group/sub/proj"}
	if r.Owner() != "group" || r.Name() != "proj" {
		t.Errorf("Owner/Name = %q/%q", r.Owner(), r.Name())
	}
}

// TestDetectGitea: Gitea's and Forgejo's runners set GITHUB_ACTIONS=true
// and GITHUB_SERVER_URL too, so their own markers must win, or a job on
// Gitea would be sent to a GitHub API that is not there.
func TestDetectGitea(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	giteaRunner := env(map[string]string{
		"GITHUB_ACTIONS": "true", "GITEA_ACTIONS": "true", "GITHUB_SERVER_URL": "https://git.acme.internal",
	})
	if k, err := Detect("git.acme.internal", giteaRunner, testSites); k != Gitea || err != nil {
		t.Errorf("Gitea Actions: %v %v, want gitea", k, err)
	}
	forgejoRunner := env(map[string]string{
		"GITHUB_ACTIONS": "true", "FORGEJO_ACTIONS": "true", "GITHUB_SERVER_URL": "https://forgejo.acme.internal/",
	})
	if k, err := Detect("forgejo.acme.internal", forgejoRunner, testSites); k != Gitea || err != nil {
		t.Errorf("Forgejo Actions: %v %v, want gitea", k, err)
	}
	forgejoOwnURL := env(map[string]string{"FORGEJO_ACTIONS": "true", "FORGEJO_SERVER_URL": "https://code.acme.internal"})
	if k, err := Detect("code.acme.internal", forgejoOwnURL, testSites); k != Gitea || err != nil {
		t.Errorf("Forgejo Actions with FORGEJO_SERVER_URL: %v %v, want gitea", k, err)
	}
	// The runner's server only: another host is not guessed at.
	if k, err := Detect("github.acme.internal", giteaRunner, testSites); err == nil {
		t.Errorf("a Gitea runner made %s a %v host", "github.acme.internal", k)
	}
	for _, host := range []string{"codeberg.org", "gitea.com"} {
		if k, err := Detect(host, env(nil), testSites); k != Gitea || err != nil {
			t.Errorf("%s: %v %v, want gitea", host, k, err)
		}
	}
	for _, s := range []string{"gitea", "Gitea", "forgejo", "FORGEJO"} {
		if k, err := ParseKind(s, testSites); k != Gitea || err != nil {
			t.Errorf("ParseKind(%q) = %v, %v; want gitea", s, k, err)
		}
	}
	if _, err := ParseKind("gogs", testSites); err == nil || !strings.Contains(err.Error(), "gitea") {
		t.Errorf("ParseKind(gogs): %v, want an error listing gitea", err)
	}
}
