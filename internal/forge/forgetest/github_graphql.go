package forgetest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"
)

// graphqlStubs are forgetest's own minimal stand-ins, NOT GitHub's
// definitions, for the types the SDL excerpts reference but do not define.
// They carry only the fields bump's queries select, so a query asking for
// anything else fails validation here and must be checked against the full
// schema (npm @octokit/graphql-schema) before the stub is widened.
const graphqlStubs = `
scalar GitObjectID
scalar DateTime
scalar URI
interface Node { id: ID! }
interface Actor { login: String! }
type User implements Actor & Node { id: ID! login: String! }
type Bot implements Actor & Node { id: ID! login: String! }
type PullRequest implements Node { id: ID! number: Int! url: URI! state: String! autoMergeRequest: AutoMergeRequest }
type Commit implements Node { id: ID! oid: GitObjectID! url: URI! message: String! }
type Ref implements Node { id: ID! name: String! prefix: String! target: Commit }
type Query { viewer: User! node(id: ID!): Node }
`

func loadGraphQLSchema(t testing.TB) *ast.Schema {
	t.Helper()
	var sources []*ast.Source
	for _, name := range []string{"github-automerge.graphql", "github-commit.graphql"} {
		b, err := os.ReadFile(filepath.Join(SpecDir(), name))
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		text := string(b)
		if name == "github-commit.graphql" {
			// Both excerpts declare type Mutation; in the real schema it is one type.
			text = strings.Replace(text, "type Mutation {", "extend type Mutation {", 1)
		}
		sources = append(sources, &ast.Source{Name: name, Input: text})
	}
	sources = append(sources, &ast.Source{Name: "forgetest-stubs.graphql", Input: graphqlStubs})
	schema, err := gqlparser.LoadSchema(sources...)
	if err != nil {
		t.Fatalf("load GitHub GraphQL schema excerpts: %v", err)
	}
	return schema
}

type gqlError struct {
	Type    string `json:"type,omitempty"`
	Path    []any  `json:"path,omitempty"`
	Message string `json:"message"`
}

func (g *GitHub) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Query         string         `json:"query"`
		Variables     map[string]any `json:"variables"`
		OperationName string         `json:"operationName"`
	}
	b, err := io.ReadAll(r.Body)
	if err == nil {
		err = json.Unmarshal(b, &req)
	}
	if err != nil {
		g.count("graphql/invalid")
		g.t.Errorf("forgetest: GraphQL request is not JSON: %v", err)
		ghError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	doc, errs := gqlparser.LoadQueryWithRules(g.schema, req.Query, nil)
	if len(errs) > 0 {
		g.count("graphql/invalid")
		g.t.Errorf("forgetest: GraphQL query does not validate against the schema excerpts: %v\n%s", errs, req.Query)
		ghWriteJSON(w, http.StatusOK, map[string]any{"errors": []gqlError{{Message: errs.Error()}}})
		return
	}
	op := doc.Operations.ForName(req.OperationName)
	if op == nil {
		g.count("graphql/invalid")
		g.t.Errorf("forgetest: GraphQL operation %q not found", req.OperationName)
		ghWriteJSON(w, http.StatusOK, map[string]any{"errors": []gqlError{{Message: "operation not found"}}})
		return
	}
	name := "graphql/" + op.Name
	if len(op.SelectionSet) > 0 {
		if f, ok := op.SelectionSet[0].(*ast.Field); ok {
			name = "graphql/" + f.Name
		}
	}
	if ghApplyFault(w, r, g.count(name)) {
		return
	}
	if !g.authenticated(r) {
		ghError(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	vars, err := validator.VariableValues(g.schema, op, req.Variables)
	if err != nil {
		g.t.Errorf("forgetest: GraphQL variables do not validate: %v", err)
		ghWriteJSON(w, http.StatusOK, map[string]any{"errors": []gqlError{{Message: err.Error()}}})
		return
	}
	if op.Operation != ast.Mutation {
		g.t.Errorf("forgetest: GitHub fake serves only mutations, got %s %s", op.Operation, op.Name)
		ghWriteJSON(w, http.StatusOK, map[string]any{"errors": []gqlError{{Message: "not implemented by the fake"}}})
		return
	}
	data := map[string]any{}
	var out []gqlError
	for _, sel := range op.SelectionSet {
		f, ok := sel.(*ast.Field)
		if !ok {
			continue
		}
		var input map[string]any
		if arg := f.Arguments.ForName("input"); arg != nil {
			v, err := arg.Value.Value(vars)
			if err != nil {
				out = append(out, gqlError{Message: err.Error(), Path: []any{f.Alias}})
				continue
			}
			input, _ = v.(map[string]any)
		}
		var result map[string]any
		var gerr *gqlError
		switch f.Name {
		case "enablePullRequestAutoMerge":
			result, gerr = g.enableAutoMerge(input)
		case "createCommitOnBranch":
			result, gerr = g.createCommitOnBranch(input)
		default:
			g.t.Errorf("forgetest: GitHub fake does not implement mutation %s", f.Name)
			gerr = &gqlError{Message: "not implemented by the fake"}
		}
		if gerr != nil {
			gerr.Path = []any{f.Alias}
			out = append(out, *gerr)
			data[f.Alias] = nil
			continue
		}
		if cid, ok := input["clientMutationId"]; ok {
			result["clientMutationId"] = cid
		}
		data[f.Alias] = project(f.SelectionSet, result)
	}
	resp := map[string]any{"data": data}
	if len(out) > 0 {
		resp["errors"] = out
	}
	ghWriteJSON(w, http.StatusOK, resp)
}

// project keeps the fields a selection set asks for, under their aliases.
func project(sel ast.SelectionSet, v any) any {
	switch v := v.(type) {
	case map[string]any:
		if len(sel) == 0 {
			return v
		}
		out := map[string]any{}
		for _, s := range sel {
			switch s := s.(type) {
			case *ast.Field:
				out[s.Alias] = project(s.SelectionSet, v[s.Name])
			case *ast.InlineFragment:
				for k, x := range project(s.SelectionSet, v).(map[string]any) {
					out[k] = x
				}
			case *ast.FragmentSpread:
				for k, x := range project(s.Definition.SelectionSet, v).(map[string]any) {
					out[k] = x
				}
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i := range v {
			out[i] = project(sel, v[i])
		}
		return out
	}
	return v
}

func (g *GitHub) actor() map[string]any {
	return map[string]any{"__typename": "Bot", "id": "BOT_fake", "login": "bump-bot"}
}

func (g *GitHub) enableAutoMerge(in map[string]any) (map[string]any, *gqlError) {
	id, _ := in["pullRequestId"].(string)
	method, _ := in["mergeMethod"].(string)
	if method == "" {
		method = "MERGE" // the schema's default
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var pr *GitHubPR
	for _, p := range g.prs {
		if p.NodeID == id {
			pr = p
		}
	}
	if pr == nil {
		return nil, &gqlError{Type: "NOT_FOUND", Message: fmt.Sprintf("Could not resolve to a node with the global id of '%s'", id)}
	}
	if pr.State != "open" {
		return nil, &gqlError{Type: "UNPROCESSABLE", Message: "Pull request is in the wrong state"}
	}
	pr.AutoMerge = method
	return map[string]any{
		"actor": g.actor(),
		"pullRequest": map[string]any{
			"__typename": "PullRequest", "id": pr.NodeID, "number": pr.Number, "state": strings.ToUpper(pr.State),
			"url": g.htmlURL("pull", fmt.Sprint(pr.Number)),
			"autoMergeRequest": map[string]any{
				"mergeMethod": method, "enabledAt": time.Now().UTC().Format(time.RFC3339), "enabledBy": g.actor(),
				"authorEmail": nil, "commitBody": in["commitBody"], "commitHeadline": in["commitHeadline"],
			},
		},
	}, nil
}

func (g *GitHub) createCommitOnBranch(in map[string]any) (map[string]any, *gqlError) {
	if g.opts.Git == nil {
		g.t.Errorf("forgetest: createCommitOnBranch needs GitHubOptions.Git")
		return nil, &gqlError{Message: "the fake has no git backend"}
	}
	branchIn, _ := in["branch"].(map[string]any)
	repo, _ := branchIn["repositoryNameWithOwner"].(string)
	branch, _ := branchIn["branchName"].(string)
	if branch == "" || repo == "" {
		return nil, &gqlError{Type: "UNPROCESSABLE", Message: "A branch must be specified by repositoryNameWithOwner and branchName (the fake does not resolve ref ids)"}
	}
	if repo != g.opts.Owner+"/"+g.opts.Repo {
		return nil, &gqlError{Type: "NOT_FOUND", Message: fmt.Sprintf("Could not resolve to a Repository with the name '%s'.", repo)}
	}
	branch = strings.TrimPrefix(branch, "refs/heads/")
	expected, _ := in["expectedHeadOid"].(string)
	msg, _ := in["message"].(map[string]any)
	headline, _ := msg["headline"].(string)
	body, _ := msg["body"].(string)
	files := map[string][]byte{}
	changes, _ := in["fileChanges"].(map[string]any)
	for _, a := range ghSlice(changes["additions"]) {
		a, _ := a.(map[string]any)
		path, _ := a["path"].(string)
		enc, _ := a["contents"].(string)
		content, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return nil, &gqlError{Type: "UNPROCESSABLE", Message: fmt.Sprintf("contents of %s is not base64", path)}
		}
		files[path] = content
	}
	for _, d := range ghSlice(changes["deletions"]) {
		d, _ := d.(map[string]any)
		path, _ := d["path"].(string)
		files[path] = nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	cur, ok := g.head(branch)
	if !ok {
		return nil, &gqlError{Type: "NOT_FOUND", Message: fmt.Sprintf("A ref named \"refs/heads/%s\" does not exist.", branch)}
	}
	if cur != expected {
		return nil, &gqlError{Type: "STALE_DATA", Message: fmt.Sprintf("Expected branch to point to \"%s\" but it did not. Pull and try again.", expected)}
	}
	sha, err := g.opts.Git.CommitFiles(branch, expected, files, headline, body)
	if err != nil {
		return nil, &gqlError{Type: "UNPROCESSABLE", Message: err.Error()}
	}
	delete(g.refs, branch)
	return map[string]any{
		"commit": map[string]any{"__typename": "Commit", "id": "C_" + sha, "oid": sha, "url": g.htmlURL("commit", sha), "message": headline},
		"ref":    map[string]any{"__typename": "Ref", "id": "REF_fake" + branch, "name": branch, "prefix": "refs/heads/"},
	}, nil
}
