package forgetest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// recordingTB captures Errorf so tests can assert that Validate complains.
type recordingTB struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) errs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errors...)
}

func TestSpecDir(t *testing.T) {
	for _, f := range []string{"github-pulls.openapi.yaml", "gitlab-mr.openapi.yaml", "github-automerge.graphql"} {
		if _, err := http.Dir(SpecDir()).Open(f); err != nil {
			t.Errorf("SpecDir() = %s lacks %s: %v", SpecDir(), f, err)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	srv := httptest.NewServer(nil)
	defer srv.Close()
	spec := LoadSpec(t, "github-pulls.openapi.yaml", srv.URL, nil)

	rec := &recordingTB{TB: t}
	var gotOp string
	respond := `{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`
	srv.Config.Handler = spec.Validate(rec, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotOp = OperationID(r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, respond)
	}), GitHubRefPath)

	do := func(method, path, body string) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	tests := []struct {
		name, method, path, body string
		respond                  string
		wantOp                   string
		wantStatus               int
		wantErr                  string // substring of the recorded test error; "" = none
	}{
		{"valid request and declared error response", "GET", "/repos/acme/manifests/pulls?state=open&base=main", "", respond, "pulls/list", 404, "does not match"},
		{"valid get, declared 404", "GET", "/repos/acme/manifests/pulls/7", "", respond, "pulls/get", 404, ""},
		{"create missing required head", "POST", "/repos/acme/manifests/pulls", `{"title":"t","base":"main"}`, respond, "", 400, "request does not match"},
		{"bad enum in query", "GET", "/repos/acme/manifests/pulls?state=bogus", "", respond, "", 400, "request does not match"},
		{"ref with slashes routes", "GET", "/repos/acme/manifests/git/ref/heads/bump/api", "", respond, "git/get-ref", 404, ""},
		{"unknown path", "GET", "/repos/acme/manifests/actions/runs", "", respond, "", 404, "no operation"},
		{"response body not matching", "GET", "/repos/acme/manifests/pulls/7", "", `{"message":42}`, "pulls/get", 404, "response 404 does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.mu.Lock()
			rec.errors = nil
			rec.mu.Unlock()
			gotOp, respond = "", tt.respond
			if got := do(tt.method, tt.path, tt.body); got != tt.wantStatus {
				t.Errorf("status = %d, want %d", got, tt.wantStatus)
			}
			if gotOp != tt.wantOp {
				t.Errorf("operation = %q, want %q", gotOp, tt.wantOp)
			}
			errs := rec.errs()
			switch {
			case tt.wantErr == "" && len(errs) > 0:
				t.Errorf("unexpected validation errors: %q", errs)
			case tt.wantErr != "" && (len(errs) != 1 || !strings.Contains(errs[0], tt.wantErr)):
				t.Errorf("validation errors = %q, want one containing %q", errs, tt.wantErr)
			}
		})
	}
}
