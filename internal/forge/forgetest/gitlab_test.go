package forgetest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
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

// glDo sends one request to the fake with the given auth header and
// returns the status and decoded JSON body.
func glDo(t *testing.T, g *GitLab, method, path, body string, auth ...string) (int, http.Header, any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, g.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(auth); i += 2 {
		req.Header.Set(auth[i], auth[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header, out
}

func TestGitLabFakeAuthAndProjects(t *testing.T) {
	g := NewGitLab(t, GitLabOptions{Project: "acme/sub/manifests", ProjectID: 7, Token: "pat", JobToken: "job"})
	const mrs = "/merge_requests"
	create := `{"title":"t","source_branch":"a","target_branch":"main"}`
	cases := []struct {
		name, method, path, body string
		auth                     []string
		want                     int
	}{
		{"no token", "GET", "/api/v4/projects/7", "", nil, 401},
		{"wrong token", "GET", "/api/v4/projects/7", "", []string{"PRIVATE-TOKEN", "nope"}, 401},
		{"private token, numeric id", "GET", "/api/v4/projects/7", "", []string{"PRIVATE-TOKEN", "pat"}, 200},
		{"bearer, encoded path", "GET", "/api/v4/projects/acme%2Fsub%2Fmanifests", "", []string{"Authorization", "Bearer pat"}, 200},
		{"unknown project", "GET", "/api/v4/projects/acme%2Fother", "", []string{"PRIVATE-TOKEN", "pat"}, 404},
		{"job token reads the project", "GET", "/api/v4/projects/7", "", []string{"JOB-TOKEN", "job"}, 200},
		{"job token cannot open a merge request", "POST", "/api/v4/projects/7" + mrs, create, []string{"JOB-TOKEN", "job"}, 403},
		{"job token cannot list merge requests", "GET", "/api/v4/projects/7" + mrs, "", []string{"JOB-TOKEN", "job"}, 403},
		{"job token in PRIVATE-TOKEN is not a token", "GET", "/api/v4/projects/7", "", []string{"PRIVATE-TOKEN", "job"}, 401},
	}
	for _, c := range cases {
		if code, _, body := glDo(t, g, c.method, c.path, c.body, c.auth...); code != c.want {
			t.Errorf("%s: %d %v, want %d", c.name, code, body, c.want)
		}
	}
	if n := len(g.MergeRequests()); n != 0 {
		t.Errorf("%d merge requests after refused writes", n)
	}
	if got := g.Calls()["getApiV4ProjectsId"]; got != 7 {
		t.Errorf("getApiV4ProjectsId counted %d, want 7: %v", got, g.Calls())
	}
	if got := g.TotalCalls(); got != len(cases) {
		t.Errorf("TotalCalls = %d, want %d", got, len(cases))
	}
}

func TestGitLabFakeMergeRequests(t *testing.T) {
	g := NewGitLab(t, GitLabOptions{Token: "pat", BranchExists: func(b string) bool { return b != "gone" },
		Users: map[string]int64{"alice": 3, "alicia": 4}})
	auth := []string{"PRIVATE-TOKEN", "pat"}
	base := "/api/v4/projects/acme%2Fmanifests/merge_requests"
	code, _, body := glDo(t, g, "POST", base, `{"title":"Draft: t","description":"d","source_branch":"a","target_branch":"main",
		"labels":["x"],"assignee_ids":[3],"reviewer_ids":[4],"remove_source_branch":true,"squash":true}`, auth...)
	mr, _ := body.(map[string]any)
	if code != 201 || mr["iid"] != 1.0 || mr["draft"] != true || mr["state"] != "opened" || mr["should_remove_source_branch"] != true {
		t.Fatalf("create: %d %v", code, body)
	}
	code, _, body = glDo(t, g, "POST", base, `{"title":"again","source_branch":"a","target_branch":"main"}`, auth...)
	if msg, _ := json.Marshal(body); code != 409 || !strings.Contains(string(msg), "already exists for this source branch: !1") {
		t.Errorf("duplicate: %d %s", code, msg)
	}
	if code, _, body = glDo(t, g, "POST", base, `{"title":"t","source_branch":"gone","target_branch":"main"}`, auth...); code != 422 {
		t.Errorf("missing branch: %d %v", code, body)
	}
	if code, _, body = glDo(t, g, "GET", base+"?state=opened&source_branch=a&target_branch=main", "", auth...); code != 200 || len(body.([]any)) != 1 {
		t.Errorf("list: %d %v", code, body)
	}
	if code, _, body = glDo(t, g, "GET", base+"?state=opened&source_branch=b", "", auth...); code != 200 || len(body.([]any)) != 0 {
		t.Errorf("list other branch: %d %v", code, body)
	}
	if code, _, body = glDo(t, g, "GET", "/api/v4/projects/42/users?search=alic", "", auth...); code != 200 || len(body.([]any)) != 2 {
		t.Errorf("user search: %d %v", code, body)
	}
	if code, _, _ = glDo(t, g, "PUT", base+"/1/merge", `{"auto_merge":true}`, auth...); code != 200 {
		t.Errorf("auto-merge: %d", code)
	}
	if code, _, _ = glDo(t, g, "POST", base+"/1/notes", `{"body":"bye"}`, auth...); code != 201 {
		t.Errorf("note: %d", code)
	}
	if code, _, _ = glDo(t, g, "PUT", base+"/1", `{"state_event":"close","add_labels":"y"}`, auth...); code != 200 {
		t.Errorf("close: %d", code)
	}
	if code, _, _ = glDo(t, g, "GET", base+"/9", "", auth...); code != 404 {
		t.Errorf("unknown merge request: %d", code)
	}
	got := g.MergeRequests()
	if len(got) != 1 {
		t.Fatalf("merge requests: %+v", got)
	}
	m := got[0]
	if m.State != "closed" || !m.AutoMerge || !m.Squash || !m.RemoveSourceBranch || strings.Join(m.Labels, ",") != "x,y" ||
		len(m.AssigneeIDs) != 1 || m.AssigneeIDs[0] != 3 || len(m.ReviewerIDs) != 1 || m.ReviewerIDs[0] != 4 ||
		len(m.Notes) != 1 || m.Notes[0] != "bye" || !m.Draft() {
		t.Errorf("state: %+v", m)
	}
	if b := g.LastBody("putApiV4ProjectsIdMergeRequestsMergeRequestIidMerge"); b["auto_merge"] != true {
		t.Errorf("last merge body: %v", b)
	}
}

func TestGitLabFakeFaults(t *testing.T) {
	g := NewGitLab(t, GitLabOptions{Token: "pat"})
	auth := []string{"PRIVATE-TOKEN", "pat"}
	create := "postApiV4ProjectsIdMergeRequests"
	base := "/api/v4/projects/42/merge_requests"

	g.InjectFault(Fault{Operation: create, Status: 429, Times: 2, Header: http.Header{"Retry-After": {"7"}}})
	for i := range 2 {
		code, h, body := glDo(t, g, "POST", base, `{"title":"t","source_branch":"a","target_branch":"main"}`, auth...)
		if code != 429 || h.Get("Retry-After") != "7" || h.Get(faultHeader) != "" {
			t.Errorf("fault %d: %d %v %v", i, code, h, body)
		}
	}
	// A GET is not the faulted operation and was never touched.
	if code, _, _ := glDo(t, g, "GET", "/api/v4/projects/42", "", auth...); code != 200 {
		t.Errorf("unfaulted get: %d", code)
	}
	if n := len(g.MergeRequests()); n != 0 {
		t.Errorf("a faulted create was applied: %d", n)
	}

	// After: applied, then answered 502, as a retried POST would meet it.
	g.InjectFault(Fault{Operation: create, Status: 502, After: true})
	if code, _, _ := glDo(t, g, "POST", base, `{"title":"t","source_branch":"a","target_branch":"main"}`, auth...); code != 502 {
		t.Errorf("after-fault: %d", code)
	}
	if n := len(g.MergeRequests()); n != 1 {
		t.Errorf("after-fault applied %d merge requests, want 1", n)
	}

	g.InjectFault(Fault{Delay: 50 * time.Millisecond})
	start := time.Now()
	if code, _, _ := glDo(t, g, "GET", "/api/v4/projects/42", "", auth...); code != 200 || time.Since(start) < 50*time.Millisecond {
		t.Errorf("delay: %d after %v", code, time.Since(start))
	}

	g.InjectFault(Fault{Drop: true})
	req, _ := http.NewRequestWithContext(t.Context(), "GET", g.URL()+"/api/v4/projects/42", nil)
	req.Header.Set("PRIVATE-TOKEN", "pat")
	// A fresh connection: net/http silently retries a GET whose reused
	// connection closes, which would hide the fault.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := fresh.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("dropped connection answered %d", resp.StatusCode)
	}
	if got := g.Calls()[create]; got != 3 {
		t.Errorf("create counted %d, want 3", got)
	}
}
