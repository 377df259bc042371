package gittest_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/bump-gitops/bump/internal/gitrepo/gittest"
)

func TestServerAuth(t *testing.T) {
	s := gittest.NewServer(t, gittest.WithCredentials("oauth2", "glpat-test"))
	url := s.CreateRepo(t, "m", map[string]string{"a.yaml": "a\n"})
	get := func(user, pass string) *http.Response {
		req, err := http.NewRequest(http.MethodGet, url+"/info/refs?service=git-upload-pack", nil)
		if err != nil {
			t.Fatal(err)
		}
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, c := range [][2]string{{"", ""}, {"oauth2", "wrong"}, {"x-access-token", "glpat-test"}} {
		resp := get(c[0], c[1])
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%q: status %d, challenge %q", c, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	before := s.Requests()
	if resp := get("oauth2", "glpat-test"); resp.StatusCode != http.StatusOK {
		t.Errorf("good credentials: %d", resp.StatusCode)
	}
	if s.Requests() != before+1 {
		t.Errorf("requests = %d, want %d", s.Requests(), before+1)
	}
	// Faults answer before the backend, and only the matching requests.
	s.SetFault(gittest.When(func(r *http.Request) bool { return r.URL.Query().Get("service") == "git-upload-pack" }, gittest.Times(1, gittest.Status(http.StatusTeapot))))
	if resp := get("oauth2", "glpat-test"); resp.StatusCode != http.StatusTeapot {
		t.Errorf("fault: %d", resp.StatusCode)
	}
	if resp := get("oauth2", "glpat-test"); resp.StatusCode != http.StatusOK {
		t.Errorf("after the fault: %d", resp.StatusCode)
	}
}

func TestRepoState(t *testing.T) {
	s := gittest.NewServer(t)
	s.CreateRepo(t, "m", map[string]string{"a/b.yaml": "b\n", "c.yaml": "c\n"})
	first := s.Head("m", "main")
	second := s.Commit(t, "m", "main", map[string]string{"c.yaml": "c2\n"}, "change c\n\nwhy")
	if s.CommitCount(t, "m", "main") != 2 || s.CommitCount(t, "m", first+"..main") != 1 {
		t.Error("commit count")
	}
	if got := s.Changed(t, "m", first, second); !slices.Equal(got, []string{"c.yaml"}) {
		t.Errorf("changed = %q", got)
	}
	if got := s.Message(t, "m", second); got != "change c\n\nwhy" {
		t.Errorf("message = %q", got)
	}
	if a, c := s.Author(t, "m", second); a != "Test <test@example.com>" || c != a {
		t.Errorf("author %q committer %q", a, c)
	}
	if s.File(t, "m", "main", "c.yaml") != "c2\n" || s.Head("m", "absent") != "" {
		t.Error("file or head")
	}
	s.Branch(t, "m", "old", first)
	if s.Head("m", "old") != first {
		t.Error("branch")
	}
}

func TestCreateGeneratedRepo(t *testing.T) {
	s := gittest.NewServer(t)
	s.CreateGeneratedRepo(t, "big", 250, func(i int) (string, []byte) {
		return fmt.Sprintf("d%02d/f%03d.yaml", i%7, i), fmt.Appendf(nil, "n: %d\n", i)
	})
	got := s.Files(t, "big", "main")
	if len(got) != 250 || !slices.Contains(got, "d03/f108.yaml") {
		t.Fatalf("%d files, e.g. %q", len(got), got[:min(3, len(got))])
	}
	if s.File(t, "big", "main", "d03/f108.yaml") != "n: 108\n" {
		t.Error("content")
	}
}
