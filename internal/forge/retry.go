package forge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryOptions bounds how RetryTransport waits. Zero values take the defaults
// documented on each field.
type RetryOptions struct {
	// MaxAttempts is the number of tries including the first; default 4.
	MaxAttempts int
	// BaseDelay is the first back-off when the forge gave no hint; it doubles
	// on each retry. Default 1s.
	BaseDelay time.Duration
	// MaxWait caps a single wait; default 30s. A forge hint longer than this
	// (a primary rate limit resetting in minutes) is not waited for at all:
	// the response is returned so the caller can report when to retry.
	MaxWait time.Duration
	// MaxTotal caps the sum of all waits for one request; default 90s.
	MaxTotal time.Duration

	// Sleep waits for d or until ctx is done; default a timer. Tests inject
	// a fake to avoid real waits.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock used to read X-RateLimit-Reset; default time.Now.
	Now func() time.Time
	// Jitter spreads a wait so that parallel jobs do not retry in step;
	// default adds up to a quarter of d at random.
	Jitter func(d time.Duration) time.Duration
	// Logger, when set, gets one line per retry.
	Logger *slog.Logger
}

func (o RetryOptions) withDefaults() RetryOptions {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 4
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = time.Second
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 30 * time.Second
	}
	if o.MaxTotal <= 0 {
		o.MaxTotal = 90 * time.Second
	}
	if o.Sleep == nil {
		o.Sleep = Sleep
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Jitter == nil {
		o.Jitter = func(d time.Duration) time.Duration {
			if d <= 0 {
				return d
			}
			return d + rand.N(d/4+1)
		}
	}
	return o
}

// Sleep waits for d, or until ctx is done.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Backoff is capped exponential back-off, before jitter: the wait before
// retry number attempt (from 1) is base doubled attempt-1 times, at most
// ceiling. The HTTP retries here and bump's push retries share it.
func Backoff(attempt int, base, ceiling time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// RetryTransport retries requests the forge asks to be retried: 429, any 5xx,
// and 403 secondary rate limits, plus connection failures of idempotent
// requests. It honours Retry-After and X-RateLimit-Reset within the bounds of
// its options, and gives the last response back unchanged when it stops, so
// the adapter above maps it to one clear error.
//
// A POST that got a 5xx may have been applied by the forge; it is still
// retried, so callers creating things must accept "already exists" on a retry.
type RetryTransport struct {
	next http.RoundTripper
	opts RetryOptions
}

// NewRetryTransport wraps next (http.DefaultTransport when nil).
func NewRetryTransport(next http.RoundTripper, opts RetryOptions) *RetryTransport {
	if next == nil {
		next = http.DefaultTransport
	}
	return &RetryTransport{next: next, opts: opts.withDefaults()}
}

// RoundTrip implements http.RoundTripper.
func (t *RetryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 {
			var err error
			if r, err = rewind(req); err != nil {
				return nil, err
			}
		}
		resp, err := t.next.RoundTrip(r)
		wait, retry := t.decide(req, resp, err, attempt)
		if !retry || attempt >= t.opts.MaxAttempts || waited+wait > t.opts.MaxTotal {
			return resp, err
		}
		if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
			// The body was consumed and cannot be sent again.
			return resp, err
		}
		if resp != nil {
			// Drain a little so the connection can be reused.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if t.opts.Logger != nil {
			t.opts.Logger.InfoContext(ctx, "forge request will be retried",
				"method", req.Method, "path", req.URL.Path, "attempt", attempt,
				"wait", wait, "reason", reason(resp, err))
		}
		if err := t.opts.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("wait to retry %s %s: %w", req.Method, req.URL.Path, err)
		}
		waited += wait
	}
}

// decide reports whether to retry and how long to wait first.
func (t *RetryTransport) decide(req *http.Request, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	backoff := t.opts.Jitter(Backoff(attempt, t.opts.BaseDelay, t.opts.MaxWait))
	if err != nil {
		if req.Context().Err() != nil || !idempotent(req) {
			return 0, false
		}
		return backoff, true
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
	case resp.StatusCode == http.StatusForbidden && secondaryRateLimit(resp):
	default:
		return 0, false
	}
	hint, ok := hintedWait(resp.Header, t.opts.Now())
	if !ok {
		return backoff, true
	}
	if hint > t.opts.MaxWait {
		// Waiting a capped time would not help: the forge said when.
		return 0, false
	}
	return t.opts.Jitter(hint), true
}

// hintedWait reads Retry-After, or X-RateLimit-Reset when the remaining quota is zero.
func hintedWait(h http.Header, now time.Time) (time.Duration, bool) {
	if d, ok := RetryAfter(h, now); ok {
		return d, true
	}
	return 0, false
}

// RetryAfter reads the forge's hint of when to try again: Retry-After (seconds
// or an HTTP date), else X-RateLimit-Reset (epoch seconds) when
// X-RateLimit-Remaining is 0. GitLab spells the latter RateLimit-Reset and
// RateLimit-Remaining; both are accepted.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second, true
		}
		if at, err := http.ParseTime(v); err == nil {
			return max(at.Sub(now), 0), true
		}
	}
	for _, prefix := range []string{"X-RateLimit-", "RateLimit-"} {
		if strings.TrimSpace(h.Get(prefix+"Remaining")) != "0" {
			continue
		}
		if s, err := strconv.ParseInt(strings.TrimSpace(h.Get(prefix+"Reset")), 10, 64); err == nil {
			return max(time.Unix(s, 0).Sub(now), 0), true
		}
	}
	return 0, false
}

// secondaryRateLimit tells a 403 that asks to slow down from a 403 for a
// missing permission, which retrying cannot fix.
func secondaryRateLimit(resp *http.Response) bool {
	h := resp.Header
	if h.Get("Retry-After") != "" || h.Get("X-RateLimit-Remaining") == "0" {
		return true
	}
	// GitHub sometimes sends only a message; peek and put the body back.
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
	if err != nil {
		return false
	}
	return bytes.Contains(bytes.ToLower(body), []byte("secondary rate limit"))
}

func idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return req.Header.Get("Idempotency-Key") != ""
}

func rewind(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return r, nil
	}
	if req.GetBody == nil {
		return nil, errors.New("request body cannot be replayed")
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("replay request body: %w", err)
	}
	r.Body = body
	return r, nil
}

func reason(resp *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return resp.Status
}
