package forgetest

import (
	"net/http"
	"strings"
	"testing"
)

// The GitLab fake refuses what GitLab would: a create without a title
// breaks the official request schema, an unknown path has no route.
func TestGitLabFakeRejectsInvalidRequests(t *testing.T) {
	rec := &recordingTB{TB: t}
	g := NewGitLab(rec, GitLabOptions{Token: "tok"})
	do := func(method, path, body string) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, g.URL()+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("PRIVATE-TOKEN", "tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := do("POST", "/api/v4/projects/acme%2Fmanifests/merge_requests", `{"source_branch":"a","target_branch":"main"}`); code != http.StatusBadRequest {
		t.Errorf("create without title: %d, want 400", code)
	}
	if code := do("POST", "/api/v4/projects/acme%2Fmanifests/merge_requests", `{"title":"t","source_branch":"a","target_branch":"main","squash":"yes"}`); code != http.StatusBadRequest {
		t.Errorf("squash as a string: %d, want 400", code)
	}
	if code := do("DELETE", "/api/v4/projects/acme%2Fmanifests/merge_requests/1/everything", ``); code != http.StatusNotFound {
		t.Errorf("unknown route: %d, want 404", code)
	}
	if len(rec.errs()) != 3 {
		t.Errorf("validation complaints = %d, want 3: %q", len(rec.errs()), rec.errs())
	}
	// A valid create passes and is recorded.
	if code := do("POST", "/api/v4/projects/42/merge_requests", `{"title":"t","source_branch":"a","target_branch":"main","labels":"x,y"}`); code != http.StatusCreated {
		t.Errorf("valid create: %d", code)
	}
	if len(rec.errs()) != 3 {
		t.Errorf("a valid request was flagged: %q", rec.errs()[3:])
	}
	if mrs := g.MergeRequests(); len(mrs) != 1 || strings.Join(mrs[0].Labels, ",") != "x,y" {
		t.Errorf("recorded: %+v", mrs)
	}
}
