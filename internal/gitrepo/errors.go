package gitrepo

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// wrap classifies a go-git error and removes every secret from it.
func (r *Repo) wrap(what string, err error) error {
	return Scrub(classify(what, err), r.secrets...)
}

// Transient failures: the server or the network failed, not the request.
var transientWords = []string{
	"status code: 500", "status code: 502", "status code: 503", "status code: 504",
	": eof", "unexpected eof", "connection reset", "broken pipe",
}

// Servers word a lost race in many ways; all of them mean "fetch and try again".
var raceWords = []string{
	"non-fast-forward", "fetch first", "incorrect old value", "stale info",
	"cannot lock ref", "failed to lock", "failed to update ref", "reference already exists",
	"reference has changed concurrently", "rejected",
}

func classify(what string, err error) error {
	msg := strings.ToLower(err.Error())
	switch {
	case errors.Is(err, ErrRejected):
		return fmt.Errorf("%s: %w", what, err)
	case errors.Is(err, git.ErrForceNeeded):
		return fmt.Errorf("%s: %w", what, ErrRejected)
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed),
		strings.Contains(msg, "authentication required"), strings.Contains(msg, "authorization failed"):
		return fmt.Errorf("%s: %w (check the token and that it may write to the repository)", what, ErrAuth)
	case errors.Is(err, transport.ErrRepositoryNotFound), strings.Contains(msg, "repository not found"):
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	for _, w := range transientWords {
		if strings.Contains(msg, w) {
			return fmt.Errorf("%s: %w: %s", what, ErrTransient, err.Error())
		}
	}
	for _, w := range raceWords {
		if strings.Contains(msg, w) {
			return fmt.Errorf("%s: %w: %s", what, ErrRejected, err.Error())
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// userinfo matches credentials embedded in URLs inside error text.
var userinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@`)

// Scrub returns err with every secret and every URL's userinfo replaced,
// keeping the error chain for errors.Is.
func Scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := userinfo.ReplaceAllString(msg, "${1}***@")
	for _, s := range secrets {
		if s = strings.TrimSpace(s); len(s) >= 4 {
			clean = strings.ReplaceAll(clean, s, "***")
		}
	}
	if clean == msg {
		return err
	}
	return &scrubbed{msg: clean, err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string { return s.msg }

// Unwrap keeps errors.Is working, but only for sentinel checks: callers
// print Error(), which is clean.
func (s *scrubbed) Unwrap() error { return s.err }

// redact drops userinfo from a URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}
