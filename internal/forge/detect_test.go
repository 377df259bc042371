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
	{Kind: GitHub, Hosts: []string{"github.com", "www.github.com"}, CI: CI{Marker: "GITHUB_ACTIONS", ServerURL: "GITHUB_SERVER_URL", APIURL: "GITHUB_API_URL", DefaultServer: "https://github.com", Token: "GITHUB_TOKEN"}},
	{Kind: GitLab, Hosts: []string{"gitlab.com", "www.gitlab.com"}, CI: CI{Marker: "GITLAB_CI", ServerURL: "CI_SERVER_URL", ServerHost: "CI_SERVER_HOST", APIURL: "CI_SERVER_URL", MoreURLs: []string{"CI_API_V4_URL"}, Token: "CI_JOB_TOKEN", TokenOwnName: true}},
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
