package github_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bump-gitops/bump/internal/forge"
	"github.com/bump-gitops/bump/internal/forge/github"
)

// headerRecorder is a second host that records what reaches it.
type headerRecorder struct {
	mu      sync.Mutex
	headers []http.Header
}

func (h *headerRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.headers = append(h.headers, r.Header.Clone())
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, "[]")
}

func (h *headerRecorder) leaked(secret string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, hd := range h.headers {
		for k, vs := range hd {
			for _, v := range vs {
				if strings.Contains(v, secret) {
					out = append(out, k)
				}
			}
		}
	}
	return out
}

// TestTokenNotSentAcrossRedirect: an API answering 307 to another host must
// not hand that host the token; the same host still gets it.
func TestTokenNotSentAcrossRedirect(t *testing.T) {
	other := &headerRecorder{}
	evil := httptest.NewServer(other)
	defer evil.Close()
	var sawToken atomic.Bool
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawToken.Store(r.Header.Get("Authorization") == "Bearer "+canary)
		http.Redirect(w, r, evil.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer api.Close()
	c, err := github.New(github.Options{BaseURL: api.URL, Token: canary, Repo: forge.Repo{Host: "github.com", Path: "acme/manifests"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListPullRequests(t.Context(), "main"); err != nil {
		t.Fatalf("ListPullRequests through the redirect: %v", err)
	}
	if !sawToken.Load() {
		t.Error("the API host did not get the token")
	}
	if h := other.leaked(""); len(h) == 0 {
		t.Fatal("the redirect was not followed")
	}
	if h := other.leaked(canary); len(h) > 0 {
		t.Errorf("the other host received the token in %v", h)
	}
}

// TestHugeErrorBody: a 422 with a 256 MiB body costs a small prefix of
// memory and yields one short line.
func TestHugeErrorBody(t *testing.T) {
	const size = 256 << 20
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		io.WriteString(w, `{"message": "`)
		chunk := []byte(strings.Repeat("x", 64<<10))
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return // the client hung up: what it should do
			}
		}
		io.WriteString(w, `"}`)
	}))
	defer api.Close()
	c, err := github.New(github.Options{BaseURL: api.URL, Token: canary, Repo: forge.Repo{Host: "github.com", Path: "acme/manifests"},
		Retry: forge.RetryOptions{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = c.CreatePullRequest(t.Context(), forge.PullRequestSpec{Base: "main", Head: "bump/api", Title: "t"})
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("no error for a 422")
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d KiB; error: %.120s", alloc>>10, err)
	if alloc > 16<<20 {
		t.Errorf("reading the error body allocated %d MiB", alloc>>20)
	}
	if msg := err.Error(); len(msg) > 1000 || strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error is %d bytes", len(msg))
	}
}

// TestTarpit: an API that accepts the connection and never answers ends
// the call with a clear error once the response-header timeout passes.
func TestTarpit(t *testing.T) {
	block := make(chan struct{})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer api.Close()
	defer close(block)
	c, err := github.New(github.Options{BaseURL: api.URL, Token: canary, Repo: forge.Repo{Host: "github.com", Path: "acme/manifests"},
		Retry:    forge.RetryOptions{MaxAttempts: 1},
		Timeouts: forge.Timeouts{ResponseHeader: 100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.ListPullRequests(t.Context(), "main")
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "timeout") {
			t.Errorf("err = %v, want a timeout", err)
		}
		t.Log(err)
	case <-time.After(30 * time.Second):
		t.Fatal("the call hung on a server that never answers")
	}
}
