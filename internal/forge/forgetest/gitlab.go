package forgetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// GitLabOptions configures the GitLab fake.
type GitLabOptions struct {
	Project   string // full path of the only project served; default acme/manifests
	ProjectID int    // default 42
	Token     string // personal/project access token; default "test-token"
	// JobToken, when set, is accepted as a CI job token (JOB-TOKEN header):
	// it may read the project but, as on GitLab, not write merge requests.
	JobToken string
	// BranchExists answers whether a source branch exists; nil means all do.
	BranchExists func(name string) bool
	// Users are the project members by username, for reviewer/assignee lookups.
	Users map[string]int64
}

// GitLabMR is the fake's record of a merge request.
type GitLabMR struct {
	IID                int
	Source, Target     string
	Title, Description string
	State              string // opened or closed
	Labels             []string
	AssigneeIDs        []int64
	ReviewerIDs        []int64
	RemoveSourceBranch bool
	Squash             bool
	AutoMerge          bool
	Notes              []string
}

// Draft reports whether the title marks the merge request as a draft.
func (m GitLabMR) Draft() bool { return strings.HasPrefix(m.Title, "Draft:") }

// GitLab is a stateful, spec-validated fake of the GitLab REST operations
// bump uses. All methods are safe for concurrent use.
type GitLab struct {
	callLog
	t      testing.TB
	opts   GitLabOptions
	server *httptest.Server

	mu     sync.Mutex
	mrs    []*GitLabMR
	bodies map[string]map[string]any // last JSON body per operation
}

// NewGitLab starts the fake on a loopback httptest server closed at test end.
func NewGitLab(t testing.TB, opts GitLabOptions) *GitLab {
	t.Helper()
	if opts.Project == "" {
		opts.Project = "acme/manifests"
	}
	if opts.ProjectID == 0 {
		opts.ProjectID = 42
	}
	if opts.Token == "" {
		opts.Token = "test-token"
	}
	g := &GitLab{t: t, opts: opts}
	g.server = httptest.NewServer(nil)
	t.Cleanup(g.server.Close)
	spec := LoadSpec(t, "gitlab-mr.openapi.yaml", g.server.URL, patchGitLab)
	g.server.Config.Handler = spec.Validate(t, http.HandlerFunc(g.serve), nil)
	return g
}

// patchGitLab encodes the known mismatches between GitLab's description
// and its real traffic (see testdata/forge-specs/README.md): labels travel
// as a comma-joined string too, assignees, reviewers and suggestions are
// arrays, and every endpoint can answer 401 and 403.
func patchGitLab(doc *openapi3.T) {
	for _, name := range []string{"RequestBody_d48c5188ea01", "RequestBody_e430517b7941"} {
		body := doc.Components.Schemas[name]
		if body == nil || body.Value == nil {
			continue
		}
		for _, prop := range []string{"labels", "add_labels", "remove_labels"} {
			if p := body.Value.Properties[prop]; p != nil {
				body.Value.Properties[prop] = &openapi3.SchemaRef{Value: &openapi3.Schema{OneOf: openapi3.SchemaRefs{
					p, {Value: openapi3.NewStringSchema()},
				}}}
			}
		}
	}
	arrays := map[string][]string{
		"APIEntitiesMergeRequestChanges": {"assignees", "reviewers"},
		"APIEntitiesNote":                {"suggestions"},
	}
	for schema, props := range arrays {
		s := doc.Components.Schemas[schema]
		if s == nil || s.Value == nil {
			continue
		}
		for _, prop := range props {
			if p := s.Value.Properties[prop]; p != nil && p.Value != nil && !p.Value.Type.Is("array") {
				s.Value.Properties[prop] = &openapi3.SchemaRef{Value: openapi3.NewArraySchema().WithItems(openapi3.NewObjectSchema())}
			}
		}
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, code := range []int{401, 403, 404, 409, 422} {
				if op.Responses.Status(code) == nil {
					op.Responses.Set(strconv.Itoa(code), &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription(http.StatusText(code))})
				}
			}
		}
	}
}

// URL is the server's base; client-go's base URL is URL()+"/api/v4".
func (g *GitLab) URL() string { return g.server.URL }

// InjectFault queues a fault; Operation is an operationId of the spec
// ("postApiV4ProjectsIdMergeRequests"), "" for any request. Without a Body,
// a status answers with GitLab's {"message": "<code> <text>"}.
func (g *GitLab) InjectFault(f Fault) {
	if f.Body == "" && f.Status != 0 {
		f.Body = fmt.Sprintf(`{"message":%q}`, strconv.Itoa(f.Status)+" "+http.StatusText(f.Status))
	}
	g.inject(f)
}

// MergeRequests returns copies of every merge request.
func (g *GitLab) MergeRequests() []GitLabMR {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]GitLabMR, len(g.mrs))
	for i, m := range g.mrs {
		out[i] = *m
		out[i].Labels = slices.Clone(m.Labels)
		out[i].Notes = slices.Clone(m.Notes)
		out[i].AssigneeIDs = slices.Clone(m.AssigneeIDs)
		out[i].ReviewerIDs = slices.Clone(m.ReviewerIDs)
	}
	return out
}

// LastBody returns the JSON body of the last authorised request to op, to
// check what exactly the client sent (field names, types).
func (g *GitLab) LastBody(op string) map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.bodies[op]
}

// AddMergeRequest records an open merge request made by someone else.
func (g *GitLab) AddMergeRequest(source, target, title, description string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := &GitLabMR{IID: len(g.mrs) + 1, Source: source, Target: target, Title: title, Description: description, State: "opened"}
	g.mrs = append(g.mrs, m)
	return m.IID
}

func glJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func glError(w http.ResponseWriter, status int, msg any) {
	glJSON(w, status, map[string]any{"message": msg})
}

// auth tells whether the request may read and whether it may write.
func (g *GitLab) auth(r *http.Request) (read, write bool) {
	tok := r.Header.Get("PRIVATE-TOKEN")
	if tok == "" {
		if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
			tok = strings.TrimPrefix(h, "Bearer ")
		}
	}
	if tok != "" && tok == g.opts.Token {
		return true, true
	}
	if jt := r.Header.Get("JOB-TOKEN"); jt != "" && jt == g.opts.JobToken {
		return true, false
	}
	return false, false
}

func (g *GitLab) serve(w http.ResponseWriter, r *http.Request) {
	op := OperationID(r)
	f := g.count(op)
	if f != nil && f.After {
		// The write happens, the answer is lost: what a retried POST meets.
		g.serveOperation(httptest.NewRecorder(), r, op)
	}
	if ghApplyFault(w, r, f) {
		if r.Context().Err() != nil {
			// The client gave up during a delay: nobody reads this answer,
			// so it is not the fake's to validate.
			w.Header().Set(faultHeader, "1")
		}
		return
	}
	if f == nil || !f.After {
		g.serveOperation(w, r, op)
	}
}

func (g *GitLab) serveOperation(w http.ResponseWriter, r *http.Request, op string) {
	read, write := g.auth(r)
	if !read {
		glError(w, http.StatusUnauthorized, "401 Unauthorized")
		return
	}
	// /api/v4/projects/{id}/...; the id is numeric or the URL-encoded path.
	segs := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/api/v4/projects/"), "/")
	id, _ := url.PathUnescape(segs[0])
	if id != g.opts.Project && id != strconv.Itoa(g.opts.ProjectID) {
		glError(w, http.StatusNotFound, "404 Project Not Found")
		return
	}
	// A CI job token reaches few endpoints; of these, only the project.
	if op != "getApiV4ProjectsId" && !write {
		glError(w, http.StatusForbidden, "403 Forbidden")
		return
	}
	in := map[string]any{}
	if r.Body != nil && (r.Method == http.MethodPost || r.Method == http.MethodPut) {
		_ = json.NewDecoder(r.Body).Decode(&in)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.bodies == nil {
		g.bodies = map[string]map[string]any{}
	}
	g.bodies[op] = in
	var mr *GitLabMR
	if len(segs) >= 3 && segs[1] == "merge_requests" {
		iid, _ := strconv.Atoi(segs[2])
		for _, m := range g.mrs {
			if m.IID == iid {
				mr = m
			}
		}
		if mr == nil {
			glError(w, http.StatusNotFound, "404 Not found")
			return
		}
	}
	switch op {
	case "getApiV4ProjectsId":
		glJSON(w, http.StatusOK, map[string]any{"id": g.opts.ProjectID, "path_with_namespace": g.opts.Project,
			"web_url": g.server.URL + "/" + g.opts.Project, "default_branch": "main"})
	case "getApiV4ProjectsIdUsers":
		search := r.URL.Query().Get("search")
		users := []map[string]any{}
		for name, uid := range g.opts.Users {
			if search == "" || strings.Contains(name, search) {
				users = append(users, map[string]any{"id": uid, "username": name, "name": name, "state": "active",
					"web_url": g.server.URL + "/" + name, "avatar_url": g.server.URL + "/avatar.png", "locked": false})
			}
		}
		glJSON(w, http.StatusOK, users)
	case "getApiV4ProjectsIdMergeRequests":
		q := r.URL.Query()
		out := []map[string]any{}
		for _, m := range g.mrs {
			if (q.Get("state") == "" || q.Get("state") == "all" || q.Get("state") == m.State) &&
				(q.Get("source_branch") == "" || q.Get("source_branch") == m.Source) &&
				(q.Get("target_branch") == "" || q.Get("target_branch") == m.Target) {
				out = append(out, g.mrJSON(m))
			}
		}
		glJSON(w, http.StatusOK, out)
	case "postApiV4ProjectsIdMergeRequests":
		g.createMR(w, in)
	case "getApiV4ProjectsIdMergeRequestsMergeRequestIid":
		glJSON(w, http.StatusOK, g.mrJSON(mr))
	case "putApiV4ProjectsIdMergeRequestsMergeRequestIid":
		g.updateMR(mr, in)
		glJSON(w, http.StatusOK, g.mrJSON(mr))
	case "putApiV4ProjectsIdMergeRequestsMergeRequestIidMerge":
		if in["auto_merge"] == true || in["merge_when_pipeline_succeeds"] == true {
			mr.AutoMerge = true
		}
		glJSON(w, http.StatusOK, g.mrJSON(mr))
	case "postApiV4ProjectsIdMergeRequestsMergeRequestIidCancelAutoMerge":
		mr.AutoMerge = false
		glJSON(w, http.StatusCreated, g.mrJSON(mr))
	case "postApiV4ProjectsIdMergeRequestsNoteableIdNotes":
		body, _ := in["body"].(string)
		mr.Notes = append(mr.Notes, body)
		glJSON(w, http.StatusCreated, map[string]any{"id": len(mr.Notes), "body": body,
			"created_at": time.Now().UTC().Format(time.RFC3339), "noteable_iid": mr.IID, "noteable_type": "MergeRequest", "system": false})
	default:
		g.t.Errorf("gitlab fake: no handler for %s %s (%s)", r.Method, r.URL.Path, op)
		glError(w, http.StatusNotFound, "404 Not found")
	}
}

func (g *GitLab) createMR(w http.ResponseWriter, in map[string]any) {
	source, _ := in["source_branch"].(string)
	target, _ := in["target_branch"].(string)
	for _, m := range g.mrs {
		if m.State == "opened" && m.Source == source && m.Target == target {
			glError(w, http.StatusConflict, []string{fmt.Sprintf("Another open merge request already exists for this source branch: !%d", m.IID)})
			return
		}
	}
	if g.opts.BranchExists != nil && !g.opts.BranchExists(source) {
		glError(w, http.StatusUnprocessableEntity, []string{"Source branch does not exist"})
		return
	}
	m := &GitLabMR{IID: len(g.mrs) + 1, Source: source, Target: target, State: "opened"}
	g.updateMR(m, in)
	g.mrs = append(g.mrs, m)
	glJSON(w, http.StatusCreated, g.mrJSON(m))
}

func (g *GitLab) updateMR(m *GitLabMR, in map[string]any) {
	if v, ok := in["title"].(string); ok {
		m.Title = v
	}
	if v, ok := in["description"].(string); ok {
		m.Description = v
	}
	if v, ok := in["labels"]; ok {
		m.Labels = glLabels(v)
	}
	if v, ok := in["add_labels"]; ok {
		for _, l := range glLabels(v) {
			if !slices.Contains(m.Labels, l) {
				m.Labels = append(m.Labels, l)
			}
		}
	}
	if v, ok := in["assignee_ids"]; ok {
		m.AssigneeIDs = glIDs(v)
	}
	if v, ok := in["reviewer_ids"]; ok {
		m.ReviewerIDs = glIDs(v)
	}
	if v, ok := in["remove_source_branch"].(bool); ok {
		m.RemoveSourceBranch = v
	}
	if v, ok := in["squash"].(bool); ok {
		m.Squash = v
	}
	if in["state_event"] == "close" {
		m.State = "closed"
	}
}

// glLabels reads labels sent as an array or, as client-go does, a comma-joined string.
func glLabels(v any) []string {
	var out []string
	switch v := v.(type) {
	case string:
		for _, l := range strings.Split(v, ",") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
	case []any:
		for _, l := range v {
			if s, ok := l.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func glIDs(v any) []int64 {
	var out []int64
	if list, ok := v.([]any); ok {
		for _, x := range list {
			if f, ok := x.(float64); ok {
				out = append(out, int64(f))
			}
		}
	}
	return out
}

func (g *GitLab) mrJSON(m *GitLabMR) map[string]any {
	users := func(ids []int64) []map[string]any {
		out := []map[string]any{}
		for _, id := range ids {
			out = append(out, map[string]any{"id": id, "username": fmt.Sprintf("user%d", id)})
		}
		return out
	}
	labels := m.Labels
	if labels == nil {
		labels = []string{}
	}
	return map[string]any{
		"id": 1000 + m.IID, "iid": m.IID, "project_id": g.opts.ProjectID,
		"title": m.Title, "description": m.Description, "state": m.State,
		"source_branch": m.Source, "target_branch": m.Target,
		"labels": labels, "draft": m.Draft(), "work_in_progress": m.Draft(),
		"merge_when_pipeline_succeeds":  m.AutoMerge,
		"should_remove_source_branch":   m.RemoveSourceBranch,
		"force_remove_source_branch":    m.RemoveSourceBranch,
		"squash":                        m.Squash,
		"assignees":                     users(m.AssigneeIDs),
		"reviewers":                     users(m.ReviewerIDs),
		"web_url":                       fmt.Sprintf("%s/%s/-/merge_requests/%d", g.server.URL, g.opts.Project, m.IID),
		"created_at":                    "2026-01-01T00:00:00.000Z",
		"updated_at":                    "2026-01-01T00:00:00.000Z",
		"detailed_merge_status":         "mergeable",
		"has_conflicts":                 false,
		"blocking_discussions_resolved": true,
	}
}
