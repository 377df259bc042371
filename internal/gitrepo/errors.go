package gitrepo

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// wrap classifies a go-git error, flattens it to one line and removes
// every secret from it.
func (r *Repo) wrap(what string, err error) error {
	return Scrub(classify(what, redact(r.url), err), r.secrets...)
}

// go-git reports HTTP failures as text only ("unexpected client error:
// unexpected requesting … status code: 503"), so the status is matched.
var serverFailure = regexp.MustCompile(`status code: (5\d\d|429)`)

// Transient failures: the server or the network failed, not the request.
var transientWords = []string{
	": eof", "unexpected eof", "connection reset", "broken pipe", "i/o timeout",
}

// The host cannot be reached at all: no retry helps soon, say so plainly.
var unreachableWords = []string{
	"no such host", "connection refused", "network is unreachable", "no route to host",
	"server misbehaving",
}

// Servers word a lost race in many ways; all of them mean "fetch and try again".
var raceWords = []string{
	"non-fast-forward", "fetch first", "incorrect old value", "stale info",
	"cannot lock ref", "failed to lock", "failed to update ref", "reference already exists",
	"reference has changed concurrently", "rejected",
}

func classify(what, remote string, err error) error {
	// Name the remote once: clone messages already start with it.
	forRemote, ofRemote, host := " for "+remote, ": "+remote, remote
	if strings.Contains(what, remote) {
		forRemote, ofRemote, host = "", "", "the host"
	}
	msg := strings.ToLower(err.Error())
	detail := oneLine(err.Error())
	switch {
	case errors.Is(err, ErrRejected):
		return fmt.Errorf("%s: %w", what, err)
	case errors.Is(err, git.ErrForceNeeded), errors.Is(err, git.ErrNonFastForwardUpdate):
		return fmt.Errorf("%s: %w", what, ErrRejected)
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed),
		strings.Contains(msg, "authentication required"), strings.Contains(msg, "authorization failed"):
		// The server's own text adds nothing and may quote the request.
		return fmt.Errorf("%s: %w%s (check the token and that it may write to the repository)", what, ErrAuth, forRemote)
	case strings.Contains(msg, "ssh: unable to authenticate"):
		return fmt.Errorf("%s: %w%s (the SSH key was refused: check it is a deploy key with write access)", what, ErrAuth, forRemote)
	case errors.Is(err, transport.ErrRepositoryNotFound), strings.Contains(msg, "repository not found"):
		return fmt.Errorf("%s: %w%s", what, ErrNotFound, ofRemote)
	case errors.Is(err, plumbing.ErrReferenceNotFound):
		return fmt.Errorf("%s: %w", what, err)
	case serverFailure.MatchString(msg):
		return fmt.Errorf("%s: %w: %s", what, ErrTransient, detail)
	}
	for _, w := range unreachableWords {
		if strings.Contains(msg, w) {
			return fmt.Errorf("%s: %w %s: %s", what, ErrUnreachable, host, detail)
		}
	}
	for _, w := range transientWords {
		if strings.Contains(msg, w) {
			return fmt.Errorf("%s: %w: %s", what, ErrTransient, detail)
		}
	}
	for _, w := range raceWords {
		if strings.Contains(msg, w) {
			return fmt.Errorf("%s: %w: %s", what, ErrRejected, detail)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// oneLine joins a multi-line server message so an error stays one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }), "; ")
}

// userinfo matches credentials embedded in URLs inside error text.
var userinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@`)

// Scrub returns err with every secret and every URL's userinfo replaced,
// keeping the error chain for errors.Is. A secret is also scrubbed in the
// forms it takes inside a URL (percent-encoded) and a header (base64).
// Strings shorter than four characters are ignored: replacing them would
// mangle the message without protecting anything.
func Scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := userinfo.ReplaceAllString(msg, "${1}***@")
	for _, s := range secrets {
		if s = strings.TrimSpace(s); len(s) < 4 {
			continue
		}
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s), base64.StdEncoding.EncodeToString([]byte(s))} {
			clean = strings.ReplaceAll(clean, form, "***")
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

// Unwrap keeps errors.Is working for the sentinels. Callers print
// Error(), which is clean; nothing in bump prints an unwrapped cause.
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
