package forge

import (
	"fmt"
	"net/url"
	"strings"
)

// ParseRepoURL reads the host and project path from a clone URL:
// https://host/group/name(.git), ssh://git@host[:port]/group/name.git or the
// scp-like git@host:group/name.git.
func ParseRepoURL(raw string) (Repo, error) {
	s := strings.TrimSpace(raw)
	var host, path string
	switch {
	case strings.Contains(s, "://"):
		u, err := url.Parse(s)
		if err != nil {
			return Repo{}, fmt.Errorf("parse repository URL: %w", err)
		}
		host, path = u.Hostname(), u.Path
	case strings.Contains(s, ":") && !strings.HasPrefix(s, "/"):
		// scp-like syntax: [user@]host:path
		hostPart, p, _ := strings.Cut(s, ":")
		if i := strings.LastIndex(hostPart, "@"); i >= 0 {
			hostPart = hostPart[i+1:]
		}
		host, path = hostPart, p
	default:
		return Repo{}, fmt.Errorf("repository %q is a local path: no forge hosts it", raw)
	}
	path = strings.TrimSuffix(strings.Trim(path, "/"), ".git")
	if host == "" || !strings.Contains(path, "/") {
		return Repo{}, fmt.Errorf("repository URL %q does not name a host and an owner/name path", redactURL(raw))
	}
	return Repo{Host: strings.ToLower(host), Path: path}, nil
}

// redactURL drops userinfo, which may hold a token.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

// Detect tells which forge serves host. getenv exposes the CI environment:
// a GitHub Actions or GitLab CI job knows its own server's host, which is
// how GitHub Enterprise and self-hosted GitLab are recognised.
func Detect(host string, getenv func(string) string) (Kind, error) {
	host = strings.ToLower(host)
	switch host {
	case "github.com", "www.github.com":
		return GitHub, nil
	case "gitlab.com", "www.gitlab.com":
		return GitLab, nil
	case "gitea.com", "codeberg.org":
		return Gitea, nil
	}
	// Gitea's and Forgejo's runners set GITHUB_ACTIONS=true as well, so
	// their own markers are read first.
	if getenv("GITEA_ACTIONS") == "true" || getenv("FORGEJO_ACTIONS") == "true" {
		if hostOf(getenv("GITHUB_SERVER_URL")) == host || hostOf(getenv("FORGEJO_SERVER_URL")) == host {
			return Gitea, nil
		}
	} else if getenv("GITHUB_ACTIONS") == "true" && hostOf(getenv("GITHUB_SERVER_URL")) == host {
		return GitHub, nil
	}
	if getenv("GITLAB_CI") == "true" && (strings.ToLower(getenv("CI_SERVER_HOST")) == host || hostOf(getenv("CI_SERVER_URL")) == host) {
		return GitLab, nil
	}
	return "", fmt.Errorf("cannot tell which forge hosts %s: pass --forge github, gitlab or gitea (and --forge-url for its API)", host)
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// ParseKind validates a --forge value.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(strings.ToLower(s)); k {
	case GitHub, GitLab, Gitea:
		return k, nil
	case "forgejo":
		return Gitea, nil
	}
	return "", fmt.Errorf("unknown forge %q: want github, gitlab, gitea or forgejo", s)
}
