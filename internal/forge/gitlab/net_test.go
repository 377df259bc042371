package gitlab

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bump-gitops/bump/internal/forge"
)

// TestTokenNotSentAcrossRedirect: PRIVATE-TOKEN (and JOB-TOKEN) are not
// headers net/http strips on a redirect; they must not reach another host.
func TestTokenNotSentAcrossRedirect(t *testing.T) {
	for _, job := range []bool{false, true} {
		var mu sync.Mutex
		var leaked []string
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			for k, vs := range r.Header {
				if strings.Contains(strings.Join(vs, " "), token) {
					leaked = append(leaked, k)
				}
			}
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, "[]")
		}))
		var sawToken atomic.Bool
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sawToken.Store(r.Header.Get("Private-Token") == token || r.Header.Get("Job-Token") == token)
			http.Redirect(w, r, evil.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		}))
		c, err := New(Options{BaseURL: api.URL, Token: token, JobToken: job, Repo: forge.Repo{Host: "gitlab.example.com", Path: "acme/manifests"}, Retry: fastRetry})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ListPullRequests(t.Context(), "main"); err != nil {
			t.Errorf("job=%v: ListPullRequests through the redirect: %v", job, err)
		}
		if !sawToken.Load() {
			t.Errorf("job=%v: the API host did not get the token", job)
		}
		mu.Lock()
		got := leaked
		mu.Unlock()
		if len(got) > 0 {
			t.Errorf("job=%v: the other host received the token in %v", job, got)
		}
		api.Close()
		evil.Close()
	}
}

// TestHugeErrorBody: a 422 with a 256 MiB body that is not JSON (client-go
// quotes all of it) costs a small prefix and one short line.
func TestHugeErrorBody(t *testing.T) {
	const size = 256 << 20
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnprocessableEntity)
		chunk := []byte(strings.Repeat("y", 64<<10))
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer api.Close()
	c, err := New(Options{BaseURL: api.URL, Token: token, Repo: forge.Repo{Host: "gitlab.example.com", Path: "acme/manifests"}, Retry: fastRetry})
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
	t.Logf("allocated %d KiB; error: %.160s", alloc>>10, err)
	if alloc > 16<<20 {
		t.Errorf("reading the error body allocated %d MiB", alloc>>20)
	}
	if msg := err.Error(); len(msg) > 1000 || strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error is %d bytes", len(msg))
	}
}
