package forgetest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/vektah/gqlparser/v2/ast"
)

// Git is the repository behind the GitHub fake's git endpoints and
// createCommitOnBranch. BareRepo implements it with the system git.
type Git interface {
	// Head returns the commit a branch points at.
	Head(branch string) (sha string, ok bool)
	// CommitFiles commits files (nil content deletes) on top of expectedHead
	// and moves branch to it, failing when branch no longer points at expectedHead.
	CommitFiles(branch, expectedHead string, files map[string][]byte, headline, body string) (sha string, err error)
}

// GitRefs is the optional part of a Git backend that lets the fake create
// and move branches (git/create-ref, git/update-ref).
// Without it the fake keeps branch moves in memory only.
type GitRefs interface {
	// SetBranch points branch at sha; old, when non-empty, must be its current value.
	SetBranch(branch, sha, old string) error
}

// GitHubOptions configures NewGitHub. Zero values take the documented defaults.
type GitHubOptions struct {
	Owner, Repo   string // the only repository served; default acme/manifests
	Token         string // the token that authenticates; default "test-token"
	DefaultBranch string // default main

	// BranchExists answers whether a head/base branch exists; when nil the
	// Git backend is asked, and without one every branch exists. It runs
	// under the fake's lock, so it must not call the fake.
	BranchExists func(name string) bool
	Git          Git

	// GitHub App: AppID and AppKey (the app's public key) enable the App
	// endpoints; InstallationID defaults to 4242.
	AppID          int64
	AppKey         *rsa.PublicKey
	InstallationID int64
}

// GitHubPR is the fake's record of a pull request.
type GitHubPR struct {
	Number        int
	NodeID        string
	Head, Base    string
	Title, Body   string
	State         string // open or closed
	Draft         bool
	Labels        []string
	Reviewers     []string
	TeamReviewers []string
	Assignees     []string
	AutoMerge     string // merge method in GraphQL spelling (MERGE, SQUASH, REBASE); "" when off
	Comments      []string
}

// Fault is a response the fake gives instead of serving a request.
type Fault struct {
	// Operation limits the fault to one operation id ("pulls/create",
	// "graphql/createCommitOnBranch"); "" matches every request.
	Operation string
	Times     int // how many requests it hits; default 1
	Status    int // 0 means serve normally after Delay
	Header    http.Header
	Body      string // default {"message": <status text>}
	Delay     time.Duration
	Drop      bool // hijack the connection and close it without answering
	// After serves the request first and then answers with the fault, as
	// when GitHub applied a POST but the answer was lost to a 502.
	After bool
}

// GitHub is a stateful, spec-validated fake of the GitHub REST and GraphQL
// operations bump uses. All methods are safe for concurrent use.
type GitHub struct {
	callLog
	t      testing.TB
	opts   GitHubOptions
	server *httptest.Server
	schema *ast.Schema

	mu     sync.Mutex
	prs    []*GitHubPR
	labels map[string]int64 // name -> id; labels created on first use
	refs   map[string]string
	tokens map[string]bool
	nextID int64
}

// NewGitHub starts the fake on a loopback httptest server closed at test end.
func NewGitHub(t testing.TB, opts GitHubOptions) *GitHub {
	t.Helper()
	if opts.Owner == "" {
		opts.Owner, opts.Repo = "acme", "manifests"
	}
	if opts.Token == "" {
		opts.Token = "test-token"
	}
	if opts.DefaultBranch == "" {
		opts.DefaultBranch = "main"
	}
	if opts.InstallationID == 0 {
		opts.InstallationID = 4242
	}
	g := &GitHub{
		t:      t,
		opts:   opts,
		labels: map[string]int64{},
		refs:   map[string]string{},
		tokens: map[string]bool{opts.Token: true},
		nextID: 1000,
	}
	g.server = httptest.NewServer(nil)
	t.Cleanup(g.server.Close)
	spec := LoadSpec(t, "github-pulls.openapi.yaml", g.server.URL, patchGitHub)
	g.schema = loadGraphQLSchema(t)
	mux := http.NewServeMux()
	mux.Handle("POST /graphql", http.HandlerFunc(g.serveGraphQL))
	mux.Handle("POST /api/graphql", http.HandlerFunc(g.serveGraphQL))
	mux.Handle("/", spec.Validate(t, http.HandlerFunc(g.serveREST), GitHubRefPath))
	g.server.Config.Handler = mux
	return g
}

// patchGitHub declares the error responses GitHub gives on every endpoint
// (bad token, unknown or invisible repository, missing permission, invalid
// input) on the operations whose description leaves them out, so that the
// fake's answers are still checked against GitHub's error schemas.
func patchGitHub(doc *openapi3.T) {
	universal := map[int]string{401: "requires_authentication", 403: "forbidden", 404: "not_found", 422: "validation_failed"}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for code, name := range universal {
				if op.Responses.Status(code) == nil {
					op.Responses.Set(strconv.Itoa(code), &openapi3.ResponseRef{
						Ref:   "#/components/responses/" + name,
						Value: doc.Components.Responses[name].Value,
					})
				}
			}
		}
	}
}

// GitHubRefPath escapes the slashes inside the {ref} segment of git ref
// paths (git/ref/heads/a/b -> git/ref/heads%2Fa%2Fb): the description marks
// it x-multi-segment, which the router cannot match literally.
func GitHubRefPath(p string) string {
	for _, marker := range []string{"/git/ref/", "/git/refs/"} {
		if i := strings.Index(p, marker); i >= 0 {
			head, ref := p[:i+len(marker)], p[i+len(marker):]
			return head + strings.ReplaceAll(ref, "/", "%2F")
		}
	}
	return p
}

// URL is the REST base URL with the trailing slash go-github requires.
func (g *GitHub) URL() string { return g.server.URL + "/" }

// GraphQLURL is where the fake answers GraphQL.
func (g *GitHub) GraphQLURL() string { return g.server.URL + "/graphql" }

// InjectFault queues f; faults are consumed in order.
func (g *GitHub) InjectFault(f Fault) { g.inject(f) }

// PullRequests returns a copy of every pull request, oldest first.
func (g *GitHub) PullRequests() []GitHubPR {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]GitHubPR, 0, len(g.prs))
	for _, pr := range g.prs {
		out = append(out, clonePR(pr))
	}
	return out
}

// PullRequest returns a copy of pull request number.
func (g *GitHub) PullRequest(number int) (GitHubPR, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if pr := g.pr(number); pr != nil {
		return clonePR(pr), true
	}
	return GitHubPR{}, false
}

// AddPullRequest seeds an open pull request as if someone had opened it, and
// returns its number. It does not count as a call.
func (g *GitHub) AddPullRequest(head, base, title, body string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.addPR(head, base, title, body, false).Number
}

func clonePR(pr *GitHubPR) GitHubPR {
	c := *pr
	c.Labels = slices.Clone(pr.Labels)
	c.Reviewers = slices.Clone(pr.Reviewers)
	c.TeamReviewers = slices.Clone(pr.TeamReviewers)
	c.Assignees = slices.Clone(pr.Assignees)
	c.Comments = slices.Clone(pr.Comments)
	return c
}

func (g *GitHub) pr(number int) *GitHubPR {
	for _, pr := range g.prs {
		if pr.Number == number {
			return pr
		}
	}
	return nil
}

func (g *GitHub) addPR(head, base, title, body string, draft bool) *GitHubPR {
	n := len(g.prs) + 1
	pr := &GitHubPR{
		Number: n, NodeID: "PR_fake" + strconv.Itoa(n),
		Head: head, Base: base, Title: title, Body: body, State: "open", Draft: draft,
	}
	g.prs = append(g.prs, pr)
	return pr
}

// applyFault serves f and reports whether the request is finished.
func ghApplyFault(w http.ResponseWriter, r *http.Request, f *Fault) bool {
	if f == nil {
		return false
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	if f.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
			}
		}
		return true
	}
	if f.Status == 0 {
		return false
	}
	for k, v := range f.Header {
		w.Header()[k] = v
	}
	w.Header().Set(faultHeader, "1")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	body := f.Body
	if body == "" {
		body = fmt.Sprintf(`{"message":%q,"documentation_url":"https://docs.github.com/rest"}`, http.StatusText(f.Status))
	}
	_, _ = io.WriteString(w, body)
	return true
}

// TokenValid reports whether the fake accepts tok: the configured token or
// an installation token it minted. A git server in the same test can ask
// it, as GitHub's git endpoint honours the same tokens as its API.
func (g *GitHub) TokenValid(tok string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tokens[tok]
}

// authenticated checks the token (Bearer or token scheme).
func (g *GitHub) authenticated(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	_, tok, ok := strings.Cut(h, " ")
	if !ok {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tokens[tok]
}

func (g *GitHub) branchExists(name string) bool {
	if g.opts.BranchExists != nil {
		return g.opts.BranchExists(name)
	}
	if _, ok := g.head(name); ok {
		return true
	}
	return g.opts.Git == nil
}

// head is the branch's commit: the in-memory ref when the fake moved it,
// else the Git backend's. The caller holds g.mu.
func (g *GitHub) head(branch string) (string, bool) {
	if sha, ok := g.refs[branch]; ok {
		return sha, sha != ""
	}
	if g.opts.Git != nil {
		return g.opts.Git.Head(branch)
	}
	return "", false
}

func ghWriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func ghError(w http.ResponseWriter, status int, msg string, errs ...map[string]any) {
	body := map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest", "status": strconv.Itoa(status)}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	ghWriteJSON(w, status, body)
}

func (g *GitHub) serveREST(w http.ResponseWriter, r *http.Request) {
	op := OperationID(r)
	f := g.count(op)
	if f != nil && f.After {
		g.serveOperation(httptest.NewRecorder(), r, op)
	}
	if ghApplyFault(w, r, f) {
		return
	}
	if f == nil || !f.After {
		g.serveOperation(w, r, op)
	}
}

func (g *GitHub) serveOperation(w http.ResponseWriter, r *http.Request, op string) {
	if strings.HasPrefix(op, "apps/") {
		g.serveApp(w, r, op)
		return
	}
	if !g.authenticated(r) {
		ghError(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	seg := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(seg) < 3 || seg[0] != "repos" || seg[1] != g.opts.Owner || seg[2] != g.opts.Repo {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	var in map[string]any
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		if len(b) > 0 {
			var raw any
			if err := json.Unmarshal(b, &raw); err != nil {
				ghError(w, http.StatusBadRequest, "Problems parsing JSON")
				return
			}
			switch v := raw.(type) {
			case map[string]any:
				in = v
			case []any: // add-labels accepts a bare array
				in = map[string]any{"labels": v}
			}
		}
	}
	num := 0
	if len(seg) >= 5 && (seg[3] == "pulls" || seg[3] == "issues") {
		num, _ = strconv.Atoi(seg[4])
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var pr *GitHubPR
	if num > 0 {
		if pr = g.pr(num); pr == nil {
			ghError(w, http.StatusNotFound, "Not Found")
			return
		}
	}
	switch op {
	case "pulls/list":
		g.listPRs(w, r)
	case "pulls/create":
		g.createPR(w, in)
	case "pulls/update":
		g.updatePR(w, pr, in)
	case "pulls/request-reviewers":
		pr.Reviewers = ghUnion(pr.Reviewers, ghStrings(in["reviewers"]))
		pr.TeamReviewers = ghUnion(pr.TeamReviewers, ghStrings(in["team_reviewers"]))
		ghWriteJSON(w, 201, g.prJSON(pr, false))
	case "issues/add-labels":
		names := ghLabelNames(in["labels"])
		if len(names) == 0 {
			ghError(w, 422, "Invalid request.\n\nNo subschema in \"oneOf\" matched.")
			return
		}
		for _, n := range names {
			if _, ok := g.labels[n]; !ok {
				g.nextID++
				g.labels[n] = g.nextID
			}
		}
		pr.Labels = ghUnion(pr.Labels, names)
		out := []any{}
		for _, n := range pr.Labels {
			out = append(out, g.labelJSON(n))
		}
		ghWriteJSON(w, 200, out)
	case "issues/add-assignees":
		pr.Assignees = ghUnion(pr.Assignees, ghStrings(in["assignees"]))
		ghWriteJSON(w, 201, g.issueJSON(pr))
	case "issues/create-comment":
		body, _ := in["body"].(string)
		if body == "" {
			ghError(w, 422, "Validation Failed", map[string]any{"resource": "IssueComment", "field": "body", "code": "missing_field"})
			return
		}
		pr.Comments = append(pr.Comments, body)
		g.nextID++
		ghWriteJSON(w, 201, g.commentJSON(pr, g.nextID, body))
	case "git/get-ref", "git/create-ref", "git/update-ref":
		g.serveRef(w, r, op, seg, in)
	default:
		g.t.Errorf("forgetest: GitHub fake does not implement %s %s (%s)", r.Method, r.URL.Path, op)
		ghError(w, http.StatusNotFound, "Not Found")
	}
}

func (g *GitHub) listPRs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	head := q.Get("head")
	if head != "" {
		owner, branch, ok := strings.Cut(head, ":")
		if !ok || owner != g.opts.Owner {
			// GitHub ignores a head filter without the owner prefix and
			// would list every pull request; the fake fails the test
			// instead, because that is never what the caller meant.
			g.t.Errorf("forgetest: pulls/list head=%q must be owner:branch with owner %s", head, g.opts.Owner)
		}
		head = branch
	}
	perPage := 30
	if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 {
		perPage = min(v, 100)
	}
	out := []any{}
	for _, pr := range g.prs {
		if (state != "all" && pr.State != state) || (head != "" && pr.Head != head) || (q.Get("base") != "" && pr.Base != q.Get("base")) {
			continue
		}
		if len(out) == perPage {
			break
		}
		out = append(out, g.prJSON(pr, false))
	}
	ghWriteJSON(w, 200, out)
}

func (g *GitHub) createPR(w http.ResponseWriter, in map[string]any) {
	title, _ := in["title"].(string)
	head, _ := in["head"].(string)
	base, _ := in["base"].(string)
	body, _ := in["body"].(string)
	draft, _ := in["draft"].(bool)
	if owner, branch, ok := strings.Cut(head, ":"); ok {
		if owner != g.opts.Owner {
			ghError(w, 422, "Validation Failed", map[string]any{"resource": "PullRequest", "field": "head", "code": "invalid"})
			return
		}
		head = branch
	}
	if !g.branchExists(head) {
		ghError(w, 422, "Validation Failed", map[string]any{"resource": "PullRequest", "field": "head", "code": "invalid"})
		return
	}
	if !g.branchExists(base) {
		ghError(w, 422, "Validation Failed", map[string]any{"resource": "PullRequest", "field": "base", "code": "invalid"})
		return
	}
	for _, pr := range g.prs {
		if pr.State == "open" && pr.Head == head && pr.Base == base {
			ghError(w, 422, "Validation Failed", map[string]any{"resource": "PullRequest", "code": "custom",
				"message": fmt.Sprintf("A pull request already exists for %s:%s.", g.opts.Owner, head)})
			return
		}
	}
	if title == "" {
		ghError(w, 422, "Validation Failed", map[string]any{"resource": "PullRequest", "field": "title", "code": "missing_field"})
		return
	}
	pr := g.addPR(head, base, title, body, draft)
	w.Header().Set("Location", g.apiURL("pulls", strconv.Itoa(pr.Number)))
	ghWriteJSON(w, 201, g.prJSON(pr, true))
}

func (g *GitHub) updatePR(w http.ResponseWriter, pr *GitHubPR, in map[string]any) {
	if v, ok := in["title"].(string); ok {
		pr.Title = v
	}
	if v, ok := in["body"].(string); ok {
		pr.Body = v
	}
	if v, ok := in["base"].(string); ok {
		pr.Base = v
	}
	if v, ok := in["state"].(string); ok {
		pr.State = v
	}
	ghWriteJSON(w, 200, g.prJSON(pr, true))
}

// branch names GitHub puts in ref paths and bodies: refs/heads/x or heads/x.
func ghBranchOf(ref string) (string, bool) {
	ref = strings.TrimPrefix(ref, "refs/")
	b, ok := strings.CutPrefix(ref, "heads/")
	return b, ok && b != ""
}

func (g *GitHub) serveRef(w http.ResponseWriter, r *http.Request, op string, seg []string, in map[string]any) {
	var branch string
	var ok bool
	if op == "git/create-ref" {
		ref, _ := in["ref"].(string)
		if !strings.HasPrefix(ref, "refs/") || strings.Count(ref, "/") < 2 {
			ghError(w, 422, "Reference name must start with 'refs/' and have at least two slashes.")
			return
		}
		branch, ok = ghBranchOf(ref)
	} else {
		branch, ok = ghBranchOf(strings.Join(seg[5:], "/"))
	}
	if !ok {
		g.t.Errorf("forgetest: GitHub fake only serves branch refs, got %s", r.URL.Path)
		ghError(w, 404, "Not Found")
		return
	}
	cur, exists := g.head(branch)
	sha, _ := in["sha"].(string)
	switch op {
	case "git/get-ref":
		if !exists {
			ghError(w, 404, "Not Found")
			return
		}
		ghWriteJSON(w, 200, g.refJSON(branch, cur))
	case "git/create-ref":
		if exists {
			ghError(w, 422, "Reference already exists")
			return
		}
		if err := g.setBranch(branch, sha, ""); err != nil {
			ghError(w, 422, "Object does not exist")
			return
		}
		ghWriteJSON(w, 201, g.refJSON(branch, sha))
	case "git/update-ref":
		if !exists {
			ghError(w, 422, "Reference does not exist")
			return
		}
		force, _ := in["force"].(bool)
		if !force && g.opts.Git != nil && !ghIsAncestor(g.opts.Git, cur, sha) {
			ghError(w, 422, "Update is not a fast forward")
			return
		}
		if err := g.setBranch(branch, sha, cur); err != nil {
			ghError(w, 422, "Object does not exist")
			return
		}
		ghWriteJSON(w, 200, g.refJSON(branch, sha))
	}
}

// isAncestor reports whether old is an ancestor of sha, when the backend can tell.
func ghIsAncestor(git Git, old, sha string) bool {
	a, ok := git.(interface{ IsAncestor(old, sha string) bool })
	return !ok || a.IsAncestor(old, sha)
}

// setBranch moves a branch. The caller holds g.mu.
func (g *GitHub) setBranch(branch, sha, old string) error {
	if refs, ok := g.opts.Git.(GitRefs); ok {
		return refs.SetBranch(branch, sha, old)
	}
	g.refs[branch] = sha
	return nil
}

// serveApp answers the GitHub App endpoints, authenticated by the app's JWT.
func (g *GitHub) serveApp(w http.ResponseWriter, r *http.Request, op string) {
	if g.opts.AppKey == nil {
		g.t.Errorf("forgetest: %s called but the fake has no AppKey", op)
		ghError(w, 404, "Not Found")
		return
	}
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		ghError(w, 401, "A JSON web token could not be decoded")
		return
	}
	if err := verifyAppJWT(bearer, g.opts.AppKey, g.opts.AppID, time.Now()); err != nil {
		ghError(w, 401, "A JSON web token could not be decoded: "+err.Error())
		return
	}
	switch op {
	case "apps/get-repo-installation":
		seg := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if seg[1] != g.opts.Owner || seg[2] != g.opts.Repo {
			ghError(w, 404, "Not Found")
			return
		}
		ghWriteJSON(w, 200, g.installationJSON())
	case "apps/create-installation-access-token":
		if !strings.HasSuffix(r.URL.Path, "/"+strconv.FormatInt(g.opts.InstallationID, 10)+"/access_tokens") {
			ghError(w, 404, "Not Found")
			return
		}
		g.mu.Lock()
		g.nextID++
		tok := "ghs_fake" + strconv.FormatInt(g.nextID, 10)
		g.tokens[tok] = true
		g.mu.Unlock()
		ghWriteJSON(w, 201, map[string]any{"token": tok, "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
			"permissions": map[string]any{"pull_requests": "write", "contents": "write"}, "repository_selection": "selected"})
	default:
		g.t.Errorf("forgetest: GitHub fake does not implement %s", op)
		ghError(w, 404, "Not Found")
	}
}

// verifyAppJWT checks what GitHub checks of an App JWT: RS256 signed by the
// app's key, issuer the app id, and a live, at most 10-minute window.
func verifyAppJWT(token string, key *rsa.PublicKey, appID int64, now time.Time) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return fmt.Errorf("not a JWT")
	}
	dec := base64.RawURLEncoding
	var header struct{ Alg string }
	var claims struct {
		Iss json.RawMessage
		Iat int64
		Exp int64
	}
	hb, err := dec.DecodeString(parts[0])
	if err != nil || json.Unmarshal(hb, &header) != nil {
		return fmt.Errorf("bad header")
	}
	if header.Alg != "RS256" {
		return fmt.Errorf("alg %q, want RS256", header.Alg)
	}
	sig, err := dec.DecodeString(parts[2])
	if err != nil {
		return fmt.Errorf("bad signature encoding")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	cb, err := dec.DecodeString(parts[1])
	if err != nil || json.Unmarshal(cb, &claims) != nil {
		return fmt.Errorf("bad claims")
	}
	// GitHub accepts iss as a number or a string (client ids are strings).
	if iss := strings.Trim(string(claims.Iss), `"`); iss != strconv.FormatInt(appID, 10) {
		return fmt.Errorf("iss %s, want %d", iss, appID)
	}
	if claims.Exp-claims.Iat > 600+60 || now.Unix() > claims.Exp || now.Unix()+60 < claims.Iat {
		return fmt.Errorf("token expired or not yet valid")
	}
	return nil
}

func ghStrings(v any) []string {
	var out []string
	for _, x := range ghSlice(v) {
		switch x := x.(type) {
		case string:
			out = append(out, x)
		case map[string]any:
			if s, ok := x["login"].(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func ghLabelNames(v any) []string {
	var out []string
	for _, x := range ghSlice(v) {
		switch x := x.(type) {
		case string:
			out = append(out, x)
		case map[string]any:
			if s, ok := x["name"].(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func ghSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func ghUnion(a, b []string) []string {
	for _, x := range b {
		if !slices.Contains(a, x) {
			a = append(a, x)
		}
	}
	return a
}
