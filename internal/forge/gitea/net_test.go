package gitea_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bump-gitops/bump/internal/forge"
	"github.com/bump-gitops/bump/internal/forge/gitea"
)

// These run without Gitea: answers no real server gives on purpose, but a
// proxy or a hostile host may.

func fakeClient(t *testing.T, h http.HandlerFunc) *gitea.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := gitea.New(gitea.Options{
		BaseURL: srv.URL, Token: "tok-secret", Repo: forge.Repo{Path: "o/r"},
		Retry:     forge.RetryOptions{MaxAttempts: 1},
		MergeWait: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestErrorsAreOneLineAndMapped(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		code   int
		body   string
		want   error
		substr string
	}{
		{"unauthorized", 401, `{"message":"user does not exist [uid: 0, name: ]"}`, forge.ErrUnauthorized, "user does not exist"},
		{"forbidden", 403, `{"message":"token does not have at least one of required scope(s): [read:repository]"}`, forge.ErrForbidden, "required scope"},
		{"not found", 404, `{"message":"The target couldn't be found."}`, forge.ErrNotFound, "o/r"},
		{"validation", 422, `{"message":"[Title]: Required"}`, forge.ErrValidation, "[Title]: Required"},
		{"proxy page", 502, "<html>\n<body>Bad Gateway</body>\n</html>", forge.ErrUnavailable, "no readable message"},
		{"huge message", 400, `{"message":"` + strings.Repeat("line\\n", 5000) + `"}`, forge.ErrValidation, "truncated"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := fakeClient(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.code)
				_, _ = w.Write([]byte(tc.body))
			})
			_, err := c.ListPullRequests(ctx, "main")
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.substr) {
				t.Errorf("got %v, want %v containing %q", err, tc.want, tc.substr)
			}
			oneLine(t, err)
			if len(err.Error()) > 2*forge.MaxLineLength {
				t.Errorf("error is %d bytes long", len(err.Error()))
			}
		})
	}
}

// TestTokenStaysWithItsHost: the API's origin gets the token as Gitea
// wants it; a redirect to another host gets no credential at all.
func TestTokenStaysWithItsHost(t *testing.T) {
	var leaked []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range r.Header {
			if strings.Contains(strings.Join(v, " "), "tok-secret") {
				leaked = append(leaked, k)
			}
		}
		_, _ = w.Write([]byte("[]"))
	}))
	defer other.Close()
	var auth string
	c := fakeClient(t, func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		http.Redirect(w, r, other.URL+"/api/v1/repos/o/r/pulls", http.StatusFound)
	})
	if _, err := c.ListPullRequests(context.Background(), "main"); err != nil {
		t.Fatal(err)
	}
	if auth != "token tok-secret" {
		t.Errorf("Authorization at the API = %q", auth)
	}
	if len(leaked) > 0 {
		t.Errorf("token sent to another host in %v", leaked)
	}
}

// TestAutoMergeRetriesTryAgainLater: Gitea answers 405 "Please try again
// later" while it checks a fresh pull request; the adapter retries within
// MergeWait and reports Gitea's words when the wait runs out.
func TestAutoMergeRetriesTryAgainLater(t *testing.T) {
	var n int
	c := fakeClient(t, func(w http.ResponseWriter, r *http.Request) {
		n++
		if n < 3 {
			w.WriteHeader(http.StatusMethodNotAllowed)
			_, _ = w.Write([]byte(`{"message":"Please try again later"}`))
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	if err := c.AutoMerge(context.Background(), &forge.PullRequest{Number: 7}, "rebase"); err != nil || n != 3 {
		t.Fatalf("AutoMerge = %v after %d calls, want nil after 3", err, n)
	}
	c = fakeClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = w.Write([]byte(`{"message":"Please try again later"}`))
	})
	start := time.Now()
	err := c.AutoMerge(context.Background(), &forge.PullRequest{Number: 7}, "")
	if !errors.Is(err, forge.ErrValidation) || !strings.Contains(err.Error(), "Please try again later") {
		t.Errorf("AutoMerge that never becomes mergeable: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %s, want about MergeWait (1s)", d)
	}
}

func TestNewChecksItsInput(t *testing.T) {
	for _, o := range []gitea.Options{
		{BaseURL: "https://g.example", Repo: forge.Repo{Path: "o/r"}},
		{BaseURL: "https://g.example", Token: "t", Repo: forge.Repo{Path: "o"}},
		{BaseURL: "https://g.example", Token: "t", Repo: forge.Repo{Path: "o/r/x"}},
		{BaseURL: "", Token: "t", Repo: forge.Repo{Path: "o/r"}},
		{BaseURL: "g.example", Token: "t", Repo: forge.Repo{Path: "o/r"}},
	} {
		if _, err := gitea.New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}
