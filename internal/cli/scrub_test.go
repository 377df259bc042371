package cli

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestLoggerScrubs: whatever a call site logs (message, string, error,
// group, logger attrs), the secret never reaches the output.
func TestLoggerScrubs(t *testing.T) {
	const secret = "tok-5ecret-7c1a"
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		secrets := &secretList{}
		log, err := newLogger(&buf, format, true, secrets)
		if err != nil {
			t.Fatal(err)
		}
		secrets.add(secret) // known only after the logger exists, as an App token
		log.With("url", "https://x:"+secret+"@h/r").WithGroup("g").Warn("saw "+secret,
			"err", fmt.Errorf("close #1: %w", errors.New("server says "+secret)),
			"s", secret, "any", []string{secret}, "n", 3)
		if out := buf.String(); strings.Contains(out, secret) || !strings.Contains(out, "server says ***") {
			t.Errorf("%s: %s", format, out)
		}
	}
}

func TestFinalErrorScrubbedAndBounded(t *testing.T) {
	s := &secretList{}
	s.add("tok-5ecret-7c1a")
	line := s.line(errors.New("push: 401 tok-5ecret-7c1a\n" + strings.Repeat("x", 1<<20)))
	if strings.Contains(line, "5ecret") || strings.Contains(line, "\n") || len(line) > 500 {
		t.Errorf("%d bytes: %.80q", len(line), line)
	}
}

func TestCIHosts(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, c := range []struct {
		source  string
		env     map[string]string
		ambient bool
		hosts   string
	}{
		{"BUMP_TOKEN", map[string]string{"GITLAB_CI": "true"}, false, ""},
		{"--token", nil, false, ""},
		{"GITHUB_TOKEN", nil, false, ""}, // a person's own variable outside Actions
		{"GITHUB_TOKEN", map[string]string{"GITHUB_ACTIONS": "true"}, true, "github.com api.github.com"},
		{"GITHUB_TOKEN", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://ghe.example", "GITHUB_API_URL": "https://ghe.example/api/v3"}, true, "ghe.example"},
		{"CI_JOB_TOKEN", map[string]string{"CI_SERVER_URL": "https://GitLab.example.com:8443"}, true, "gitlab.example.com"},
		{"CI_JOB_TOKEN", nil, true, ""},
	} {
		hosts, ambient := ciHosts(c.source, env(c.env))
		if ambient != c.ambient || strings.Join(hosts, " ") != c.hosts {
			t.Errorf("ciHosts(%s, %v) = %v, %v", c.source, c.env, hosts, ambient)
		}
	}
}
