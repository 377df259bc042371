package forge

import (
	"fmt"
	"net/url"
	"slices"
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

// Site is how bump recognises one forge: the hosts of its public service
// and the CI it runs. The table of forges (internal/cli) holds one per kind.
type Site struct {
	Kind Kind
	// Hosts are the public service's web hosts; the first is its canonical
	// name ("github.com"), the others aliases ("www.github.com").
	Hosts []string
	// Aliases are further names --forge accepts for the kind ("forgejo").
	Aliases []string
	CI      CI
}

// CI names the environment variables through which a forge's CI tells a
// job about its own server, and the token it hands the job.
type CI struct {
	Marker string // "true" inside a job: GITHUB_ACTIONS, GITLAB_CI
	// AltMarkers also mark a job of this CI (Forgejo's FORGEJO_ACTIONS).
	AltMarkers []string
	// Excludes are markers of other CIs that also set Marker: Gitea's and
	// Forgejo's runners set GITHUB_ACTIONS=true for compatibility.
	Excludes   []string
	ServerURL  string   // the server's web URL: GITHUB_SERVER_URL, CI_SERVER_URL
	ServerHost string   // the server's host alone, where the CI sets one: CI_SERVER_HOST
	APIURL     string   // the API base the adapter takes for that server: GITHUB_API_URL
	MoreURLs   []string // further URLs of the same server: CI_API_V4_URL
	// DefaultServer is the server a job runs on when ServerURL is unset
	// ("" = none is assumed).
	DefaultServer string
	// Token is the variable holding the token the CI hands each job.
	Token string
	// TokenOwnName says Token's name is the CI's own (CI_JOB_TOKEN): it is
	// the CI's token even where Marker is not set. GITHUB_TOKEN is not:
	// outside a job it is anybody's token.
	TokenOwnName bool
}

// active reports whether getenv describes a job of this CI.
func (ci CI) active(getenv func(string) string) bool {
	marked := ci.Marker != "" && getenv(ci.Marker) == "true"
	for _, m := range ci.AltMarkers {
		marked = marked || getenv(m) == "true"
	}
	if !marked {
		return false
	}
	for _, m := range ci.Excludes {
		if getenv(m) == "true" {
			return false
		}
	}
	return true
}

// Serves reports whether the CI job described by getenv runs on host.
func (ci CI) Serves(host string, getenv func(string) string) bool {
	if !ci.active(getenv) {
		return false
	}
	if ci.ServerHost != "" && strings.ToLower(getenv(ci.ServerHost)) == host {
		return true
	}
	for _, v := range append([]string{ci.ServerURL}, ci.MoreURLs...) {
		if v != "" && hostOf(getenv(v)) == host {
			return true
		}
	}
	return false
}

// Ambient reports whether a token read from the variable source is the
// one this CI handed the job.
func (ci CI) Ambient(source string, getenv func(string) string) bool {
	return ci.Token != "" && source == ci.Token && (ci.TokenOwnName || ci.active(getenv))
}

// Hosts are the hosts of the job's own server: the only ones its token may
// go to. publicAPI is the forge's public API base, added when the job runs
// on the public service (api.github.com beside github.com). No server named
// means no host.
func (ci CI) Hosts(getenv func(string) string, publicAPI string) []string {
	server := getenv(ci.ServerURL)
	if server == "" {
		server = ci.DefaultServer
	}
	urls := []string{server}
	if ci.APIURL != "" {
		urls = append(urls, getenv(ci.APIURL))
	}
	for _, v := range ci.MoreURLs {
		urls = append(urls, getenv(v))
	}
	if ci.DefaultServer != "" && publicAPI != "" && hostOf(server) == hostOf(ci.DefaultServer) {
		urls = append(urls, publicAPI)
	}
	var hosts []string
	for _, u := range urls {
		if h := URLHost(u); h != "" && !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// JobAPIURL is the API base the CI job names for its own server, when that
// server is host; "" otherwise.
func (ci CI) JobAPIURL(host string, getenv func(string) string) string {
	if ci.APIURL == "" || getenv(ci.APIURL) == "" {
		return ""
	}
	if u, err := url.Parse(getenv(ci.ServerURL)); err != nil || !strings.EqualFold(u.Hostname(), host) {
		return ""
	}
	return getenv(ci.APIURL)
}

// URLHost is the lower-case host name of an http(s) URL, "" for anything else.
func URLHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// Detect tells which of sites serves host. getenv exposes the CI
// environment: a CI job knows its own server's host, which is how GitHub
// Enterprise and self-hosted GitLab are recognised.
func Detect(host string, getenv func(string) string, sites []Site) (Kind, error) {
	host = strings.ToLower(host)
	for _, s := range sites {
		if slices.Contains(s.Hosts, host) {
			return s.Kind, nil
		}
	}
	for _, s := range sites {
		if s.CI.Serves(host, getenv) {
			return s.Kind, nil
		}
	}
	return "", fmt.Errorf("cannot tell which forge hosts %s: pass %s (and --forge-url for its API)", host, orList(sites, "--forge "))
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// ParseKind validates a --forge value against the known sites.
func ParseKind(s string, sites []Site) (Kind, error) {
	k := Kind(strings.ToLower(s))
	for _, site := range sites {
		if site.Kind == k || slices.Contains(site.Aliases, string(k)) {
			return site.Kind, nil
		}
	}
	return "", fmt.Errorf("unknown forge %q: want %s", s, orList(sites, ""))
}

// orList names the kinds as "a or b", "a, b or c".
func orList(sites []Site, prefix string) string {
	var b strings.Builder
	for i, s := range sites {
		switch {
		case i == 0:
		case i == len(sites)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(prefix + string(s.Kind))
	}
	return b.String()
}
