package gitrepo

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

func TestClassify(t *testing.T) {
	const remote = "https://git.example.com/org/repo.git"
	tests := []struct {
		err  error
		want error
	}{
		{errors.New("command error on refs/heads/main: non-fast-forward"), ErrRejected},
		{errors.New("! [rejected] main -> main (fetch first)"), ErrRejected},
		{errors.New("command error on refs/heads/bump/x: incorrect old value provided"), ErrRejected},
		{errors.New("! [rejected] bump/x (stale info)"), ErrRejected},
		{errors.New("command error on refs/heads/main: cannot lock ref 'refs/heads/main': is at 1234 but expected 5678"), ErrRejected},
		{errors.New("failed to update ref"), ErrRejected},
		{errors.New("reference has changed concurrently"), ErrRejected},
		{git.ErrNonFastForwardUpdate, ErrRejected},
		{fmt.Errorf("push: %w", git.ErrForceNeeded), ErrRejected},
		{fmt.Errorf("%w: bad credentials", transport.ErrAuthenticationRequired), ErrAuth},
		{fmt.Errorf("%w: forbidden", transport.ErrAuthorizationFailed), ErrAuth},
		{fmt.Errorf("%w: nope", transport.ErrRepositoryNotFound), ErrNotFound},
		{errors.New(`unexpected client error: unexpected requesting "https://git.example.com/x" status code: 503`), ErrTransient},
		{errors.New(`unexpected client error: unexpected requesting "https://git.example.com/x" status code: 429`), ErrTransient},
		{errors.New(`Post "https://git.example.com/x": read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer`), ErrTransient},
		{errors.New(`Post "https://git.example.com/x": EOF`), ErrTransient},
		{errors.New(`dial tcp: lookup git.example.com: no such host`), ErrUnreachable},
		{errors.New(`dial tcp 127.0.0.1:1: connect: connection refused`), ErrUnreachable},
	}
	all := []error{ErrRejected, ErrAuth, ErrNotFound, ErrTransient, ErrUnreachable}
	for _, tt := range tests {
		got := classify("push main", remote, tt.err)
		for _, s := range all {
			if errors.Is(got, s) != (s == tt.want) {
				t.Errorf("classify(%q) = %q: errors.Is(%v) = %v", tt.err, got, s, !(s == tt.want))
			}
		}
		if strings.Contains(got.Error(), "\n") {
			t.Errorf("classify(%q) spans lines", tt.err)
		}
	}
	// An error the table does not know stays itself, unclassified.
	other := errors.New("object not found")
	if got := classify("push main", remote, other); !errors.Is(got, other) || errors.Is(got, ErrRejected) || errors.Is(got, ErrTransient) {
		t.Errorf("unknown error became %v", got)
	}
	// Server text over several lines becomes one.
	if got := classify("push", remote, errors.New("status code: 500\nline two\r\nline three")); strings.ContainsAny(got.Error(), "\r\n") {
		t.Errorf("multi-line: %q", got)
	}
}

func TestScrubForms(t *testing.T) {
	const tok = "ghs_s3cr3t/t0ken+="
	tests := []string{
		"clone https://x-access-token:" + tok + "@github.com/org/repo.git: failed",
		"clone https://x-access-token:ghs_s3cr3t%2Ft0ken+=@github.com/o/r: failed", // percent-encoded in a URL
		"token " + tok + " rejected",
		"header Basic eC1hY2Nlc3MtdG9rZW46 " + "Z2hzX3MzY3IzdC90MGtlbis9" + " sent", // base64 of the token
		`Get "ssh://deploy:pw1234@host/x": refused`,
	}
	for _, msg := range tests {
		got := Scrub(errors.New(msg), tok).Error()
		for _, leak := range []string{"s3cr3t", "Z2hzX3MzY3IzdC90MGtlbis9", "pw1234"} {
			if strings.Contains(got, leak) {
				t.Errorf("Scrub(%q) = %q: leaks %q", msg, got, leak)
			}
		}
		if !strings.Contains(got, "***") {
			t.Errorf("Scrub(%q) = %q: nothing replaced", msg, got)
		}
	}
	// Clean errors come back as they are, and nil stays nil.
	clean := errors.New("clone https://github.com/org/repo.git: repository not found")
	if Scrub(clean, tok) != clean || Scrub(nil, tok) != nil {
		t.Error("Scrub changed a clean error")
	}
	// Short strings (an empty user, "git") are not treated as secrets.
	if got := Scrub(errors.New("git fetch failed"), "git", "").Error(); got != "git fetch failed" {
		t.Errorf("short secret mangled the message: %q", got)
	}
}
