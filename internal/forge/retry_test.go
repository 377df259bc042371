package forge

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// scripted answers each request with the next step, then 200 "ok".
type scripted struct {
	mu     sync.Mutex
	steps  []func(w http.ResponseWriter)
	bodies []string
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, string(b))
	var step func(http.ResponseWriter)
	if len(s.steps) > 0 {
		step, s.steps = s.steps[0], s.steps[1:]
	}
	s.mu.Unlock()
	if step == nil {
		_, _ = io.WriteString(w, "ok")
		return
	}
	step(w)
}

func status(code int, hdr ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, `{"message":"`+http.StatusText(code)+`"}`)
	}
}

type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

var epoch = time.Unix(1_700_000_000, 0)

func newTestTransport(sl *sleeps, o RetryOptions) *RetryTransport {
	o.Sleep = sl.sleep
	o.Now = func() time.Time { return epoch }
	o.Jitter = func(d time.Duration) time.Duration { return d }
	return NewRetryTransport(nil, o)
}

func TestRetryTransport(t *testing.T) {
	reset := strconv.FormatInt(epoch.Add(7*time.Second).Unix(), 10)
	tests := []struct {
		name       string
		method     string
		steps      []func(http.ResponseWriter)
		wantStatus int
		wantCalls  int
		wantSleeps []time.Duration
	}{
		{"success needs no retry", "GET", nil, 200, 1, nil},
		{"5xx backs off exponentially", "GET",
			[]func(http.ResponseWriter){status(502), status(503)}, 200, 3,
			[]time.Duration{100 * time.Millisecond, 200 * time.Millisecond}},
		{"post with 5xx is retried with its body", "POST",
			[]func(http.ResponseWriter){status(500)}, 200, 2,
			[]time.Duration{100 * time.Millisecond}},
		{"429 honours Retry-After seconds", "GET",
			[]func(http.ResponseWriter){status(429, "Retry-After", "3")}, 200, 2,
			[]time.Duration{3 * time.Second}},
		{"403 rate limit waits until reset", "GET",
			[]func(http.ResponseWriter){status(403, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset)}, 200, 2,
			[]time.Duration{7 * time.Second}},
		{"403 secondary rate limit by message", "GET",
			[]func(http.ResponseWriter){func(w http.ResponseWriter) {
				w.WriteHeader(403)
				_, _ = io.WriteString(w, `{"message":"You have exceeded a secondary rate limit"}`)
			}}, 200, 2,
			[]time.Duration{100 * time.Millisecond}},
		{"403 permission is not retried", "GET",
			[]func(http.ResponseWriter){status(403)}, 403, 1, nil},
		{"404 is not retried", "GET",
			[]func(http.ResponseWriter){status(404)}, 404, 1, nil},
		{"hint beyond MaxWait returns at once", "GET",
			[]func(http.ResponseWriter){status(429, "Retry-After", "3600")}, 429, 1, nil},
		{"attempts are bounded", "GET",
			[]func(http.ResponseWriter){status(500), status(500), status(500), status(500), status(500)}, 500, 3,
			[]time.Duration{100 * time.Millisecond, 200 * time.Millisecond}},
		{"total wait is bounded", "GET",
			[]func(http.ResponseWriter){status(429, "Retry-After", "6"), status(429, "Retry-After", "6")}, 429, 2,
			[]time.Duration{6 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &scripted{steps: tt.steps}
			srv := httptest.NewServer(h)
			defer srv.Close()
			var sl sleeps
			rt := newTestTransport(&sl, RetryOptions{MaxAttempts: 3, BaseDelay: 100 * time.Millisecond, MaxWait: 10 * time.Second, MaxTotal: 10 * time.Second})
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL, strings.NewReader("payload"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatalf("RoundTrip: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %q)", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus == 403 && !strings.Contains(string(body), "Forbidden") {
				t.Errorf("403 body was not kept for the caller: %q", body)
			}
			if len(h.bodies) != tt.wantCalls {
				t.Errorf("server saw %d requests, want %d", len(h.bodies), tt.wantCalls)
			}
			for i, b := range h.bodies {
				if b != "payload" {
					t.Errorf("request %d body = %q, want the original payload", i, b)
				}
			}
			if len(sl.d) != len(tt.wantSleeps) {
				t.Fatalf("sleeps = %v, want %v", sl.d, tt.wantSleeps)
			}
			for i := range sl.d {
				if sl.d[i] != tt.wantSleeps[i] {
					t.Errorf("sleep %d = %v, want %v", i, sl.d[i], tt.wantSleeps[i])
				}
			}
		})
	}
}

func TestRetryTransportDroppedConnection(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	// A fresh transport per request kind, so Go's own transport-level retry
	// of idempotent requests on reused connections does not blur the count.
	for _, tc := range []struct {
		method    string
		wantErr   bool
		wantCalls int
	}{{"GET", false, 2}, {"POST", true, 1}} {
		mu.Lock()
		calls = 0
		mu.Unlock()
		var sl sleeps
		o := RetryOptions{MaxAttempts: 3, BaseDelay: time.Millisecond, Sleep: sl.sleep}
		rt := NewRetryTransport(&http.Transport{DisableKeepAlives: true}, o)
		req, _ := http.NewRequestWithContext(t.Context(), tc.method, srv.URL, strings.NewReader("x"))
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err = %v, want error %v", tc.method, err, tc.wantErr)
		}
		mu.Lock()
		got := calls
		mu.Unlock()
		if got != tc.wantCalls {
			t.Errorf("%s: server saw %d calls, want %d", tc.method, got, tc.wantCalls)
		}
	}
}

func TestRetryTransportContextCancelled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(t.Context())
	rt := NewRetryTransport(nil, RetryOptions{
		Sleep: func(ctx context.Context, d time.Duration) error { cancel(); return Sleep(ctx, d) },
	})
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	start := time.Now()
	_, err := rt.RoundTrip(req)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("cancelled wait took %v", time.Since(start))
	}
}

func TestRetryAfter(t *testing.T) {
	h := http.Header{}
	h.Set("Retry-After", epoch.Add(90*time.Second).UTC().Format(http.TimeFormat))
	if d, ok := RetryAfter(h, epoch); !ok || d != 90*time.Second {
		t.Errorf("HTTP-date Retry-After = %v, %v; want 90s", d, ok)
	}
	h = http.Header{}
	h.Set("RateLimit-Remaining", "0")
	h.Set("RateLimit-Reset", strconv.FormatInt(epoch.Add(time.Minute).Unix(), 10))
	if d, ok := RetryAfter(h, epoch); !ok || d != time.Minute {
		t.Errorf("GitLab RateLimit-Reset = %v, %v; want 1m", d, ok)
	}
	h = http.Header{}
	h.Set("X-RateLimit-Remaining", "12")
	h.Set("X-RateLimit-Reset", "1")
	if d, ok := RetryAfter(h, epoch); ok {
		t.Errorf("quota left but got hint %v", d)
	}
}

// Backoff doubles from base and stops at the ceiling, without overflowing
// however many attempts a caller allows.
func TestBackoff(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		attempt       int
		base, ceiling time.Duration
		want          time.Duration
	}{
		{1, time.Second, 30 * time.Second, time.Second},
		{3, time.Second, 30 * time.Second, 4 * time.Second},
		{6, time.Second, 30 * time.Second, 30 * time.Second},
		{1, 200 * ms, 6400 * ms, 200 * ms},
		{6, 200 * ms, 6400 * ms, 6400 * ms},
		{1000, 200 * ms, 6400 * ms, 6400 * ms},
		{0, time.Second, 30 * time.Second, time.Second},
	} {
		if got := Backoff(tc.attempt, tc.base, tc.ceiling); got != tc.want {
			t.Errorf("Backoff(%d, %v, %v) = %v, want %v", tc.attempt, tc.base, tc.ceiling, got, tc.want)
		}
	}
}
