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

func TestDetect(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	none := env(nil)
	if k, err := Detect("github.com", none); k != GitHub || err != nil {
		t.Errorf("github.com: %v %v", k, err)
	}
	if k, err := Detect("gitlab.com", none); k != GitLab || err != nil {
		t.Errorf("gitlab.com: %v %v", k, err)
	}
	ghes := env(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.acme.internal"})
	if k, err := Detect("github.acme.internal", ghes); k != GitHub || err != nil {
		t.Errorf("GHES: %v %v", k, err)
	}
	gl := env(map[string]string{"GITLAB_CI": "true", "CI_SERVER_HOST": "gitlab.acme.internal"})
	if k, err := Detect("gitlab.acme.internal", gl); k != GitLab || err != nil {
		t.Errorf("self-hosted GitLab: %v %v", k, err)
	}
	// A CI environment for another host must not make a guess.
	if _, err := Detect("git.example.org", gl); err == nil || !strings.Contains(err.Error(), "--forge") {
		t.Errorf("unknown host: err = %v, want a hint to pass --forge", err)
	}
}

func TestRepoParts(t *testing.T) {
	r := Repo{Host: "gitlab.com", Path: "group/sub/proj"}
	if r.Owner() != "group" || r.Name() != "proj" {
		t.Errorf("Owner/Name = %q/%q", r.Owner(), r.Name())
	}
}
