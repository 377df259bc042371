// Package github is bump's thin adapter over go-github: it opens, finds,
// updates and closes pull requests, enables auto-merge and commits through
// GraphQL, mints GitHub App installation tokens, and maps GitHub's answers
// to the forge package's types and sentinel errors.
package github

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bump-gitops/bump/internal/forge"
	gh "github.com/google/go-github/v60/github"
)

// DefaultBaseURL is github.com's REST API.
const DefaultBaseURL = "https://api.github.com/"

// Options configures New.
type Options struct {
	// BaseURL is the REST API base; "" means DefaultBaseURL. For GitHub
	// Enterprise Server use https://HOST/api/v3/ (GraphQL is then
	// https://HOST/api/graphql).
	BaseURL    string
	Token      string
	Repo       forge.Repo
	HTTPClient *http.Client // optional; lends its transport (tests)
	Retry      forge.RetryOptions
	Timeouts   forge.Timeouts
}

// Client talks to one repository.
type Client struct {
	gh         *gh.Client
	graphqlURL string
	repo       forge.Repo
	owner      string
	name       string
}

// New builds a client. It makes no API call.
func New(opts Options) (*Client, error) {
	if opts.Token == "" {
		return nil, errors.New("github: token is empty")
	}
	owner, name, ok := strings.Cut(opts.Repo.Path, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("github: repository %q is not owner/name", opts.Repo.Path)
	}
	base, err := baseURL(opts.BaseURL)
	if err != nil {
		return nil, err
	}
	hc, err := forge.NewHTTPClient(forge.ClientOptions{
		Base:       opts.HTTPClient,
		Credential: forge.Credential{Origin: base.String(), Header: "Authorization", Value: "Bearer " + opts.Token},
		Retry:      opts.Retry,
		Timeouts:   opts.Timeouts,
	})
	if err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	c := gh.NewClient(hc)
	c.BaseURL = base
	return &Client{gh: c, graphqlURL: graphqlURL(base), repo: opts.Repo, owner: owner, name: name}, nil
}

func baseURL(raw string) (*url.URL, error) {
	if raw == "" {
		raw = DefaultBaseURL
	}
	if !strings.HasSuffix(raw, "/") {
		raw += "/"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("github: base URL %q is not an absolute URL", raw)
	}
	return u, nil
}

// graphqlURL follows GitHub's layout: api.github.com/graphql on github.com,
// HOST/api/graphql on Enterprise Server (REST at HOST/api/v3/).
func graphqlURL(base *url.URL) string {
	u := *base
	if p, ok := strings.CutSuffix(u.Path, "/api/v3/"); ok {
		u.Path = p + "/api/graphql"
	} else {
		u.Path += "graphql"
	}
	return u.String()
}

// FindPullRequest returns the open pull request from head into base, or nil. One call.
func (c *Client) FindPullRequest(ctx context.Context, head, base string) (*forge.PullRequest, error) {
	prs, _, err := c.gh.PullRequests.List(ctx, c.owner, c.name, &gh.PullRequestListOptions{
		State:       "open",
		Head:        c.owner + ":" + head, // GitHub ignores a head filter without the owner
		Base:        base,
		ListOptions: gh.ListOptions{PerPage: 10},
	})
	if err != nil {
		return nil, c.wrap(err, fmt.Sprintf("find pull request %s into %s", head, base))
	}
	for _, pr := range prs {
		if pr.GetHead().GetRef() == head && pr.GetBase().GetRef() == base {
			out := toPR(pr)
			return &out, nil
		}
	}
	return nil, nil
}

// CreatePullRequest opens a pull request (draft when asked) and then applies
// labels, reviewers, assignees and auto-merge, one call each, only when asked.
// GitHub's "A pull request already exists" becomes an error wrapping forge.ErrExists.
func (c *Client) CreatePullRequest(ctx context.Context, spec forge.PullRequestSpec) (*forge.PullRequest, error) {
	pr, _, err := c.gh.PullRequests.Create(ctx, c.owner, c.name, &gh.NewPullRequest{
		Title: gh.String(spec.Title),
		Head:  gh.String(spec.Head),
		Base:  gh.String(spec.Base),
		Body:  gh.String(spec.Body),
		Draft: gh.Bool(spec.Draft),
	})
	if err != nil {
		return nil, c.wrap(err, fmt.Sprintf("create pull request %s into %s", spec.Head, spec.Base))
	}
	out := toPR(pr)
	if err := c.apply(ctx, &out, spec); err != nil {
		return &out, err
	}
	return &out, nil
}

// UpdatePullRequest sets title and body in one call; labels, reviewers,
// assignees and auto-merge add a call each only when spec asks for them.
func (c *Client) UpdatePullRequest(ctx context.Context, pr *forge.PullRequest, spec forge.PullRequestSpec) (*forge.PullRequest, error) {
	updated, _, err := c.gh.PullRequests.Edit(ctx, c.owner, c.name, pr.Number, &gh.PullRequest{
		Title: gh.String(spec.Title),
		Body:  gh.String(spec.Body),
	})
	if err != nil {
		return nil, c.wrap(err, fmt.Sprintf("update pull request #%d", pr.Number))
	}
	out := toPR(updated)
	if err := c.apply(ctx, &out, spec); err != nil {
		return &out, err
	}
	return &out, nil
}

// apply adds what spec asks beyond title and body.
func (c *Client) apply(ctx context.Context, pr *forge.PullRequest, spec forge.PullRequestSpec) error {
	if len(spec.Labels) > 0 {
		// GitHub creates labels that do not exist yet.
		labels, _, err := c.gh.Issues.AddLabelsToIssue(ctx, c.owner, c.name, pr.Number, spec.Labels)
		if err != nil {
			return c.wrap(err, fmt.Sprintf("add labels to pull request #%d", pr.Number))
		}
		pr.Labels = pr.Labels[:0]
		for _, l := range labels {
			pr.Labels = append(pr.Labels, l.GetName())
		}
	}
	if len(spec.Reviewers) > 0 {
		var req gh.ReviewersRequest
		for _, r := range spec.Reviewers {
			if _, team, ok := strings.Cut(r, "/"); ok {
				req.TeamReviewers = append(req.TeamReviewers, team)
			} else {
				req.Reviewers = append(req.Reviewers, r)
			}
		}
		if _, _, err := c.gh.PullRequests.RequestReviewers(ctx, c.owner, c.name, pr.Number, req); err != nil {
			return c.wrap(err, fmt.Sprintf("request reviewers on pull request #%d", pr.Number))
		}
	}
	if len(spec.Assignees) > 0 {
		if _, _, err := c.gh.Issues.AddAssignees(ctx, c.owner, c.name, pr.Number, spec.Assignees); err != nil {
			return c.wrap(err, fmt.Sprintf("assign pull request #%d", pr.Number))
		}
	}
	if spec.AutoMerge {
		if err := c.EnableAutoMerge(ctx, pr, spec.MergeMethod); err != nil {
			return err
		}
	}
	return nil
}

// ListPullRequests returns the open pull requests into base. One page of 100
// is enough: bump opens one pull request per image and branch, and a
// repository with more than 100 open ones into one base has other problems.
func (c *Client) ListPullRequests(ctx context.Context, base string) ([]forge.PullRequest, error) {
	prs, _, err := c.gh.PullRequests.List(ctx, c.owner, c.name, &gh.PullRequestListOptions{
		State: "open", Base: base, ListOptions: gh.ListOptions{PerPage: 100},
	})
	if err != nil {
		return nil, c.wrap(err, fmt.Sprintf("list pull requests into %s", base))
	}
	out := make([]forge.PullRequest, 0, len(prs))
	for _, pr := range prs {
		out = append(out, toPR(pr))
	}
	return out, nil
}

// ClosePullRequest posts comment (when non-empty), then closes the pull request.
func (c *Client) ClosePullRequest(ctx context.Context, pr *forge.PullRequest, comment string) error {
	if comment != "" {
		if _, _, err := c.gh.Issues.CreateComment(ctx, c.owner, c.name, pr.Number, &gh.IssueComment{Body: gh.String(comment)}); err != nil {
			return c.wrap(err, fmt.Sprintf("comment on pull request #%d", pr.Number))
		}
	}
	if _, _, err := c.gh.PullRequests.Edit(ctx, c.owner, c.name, pr.Number, &gh.PullRequest{State: gh.String("closed")}); err != nil {
		return c.wrap(err, fmt.Sprintf("close pull request #%d", pr.Number))
	}
	return nil
}

func toPR(pr *gh.PullRequest) forge.PullRequest {
	out := forge.PullRequest{
		Number: pr.GetNumber(),
		URL:    pr.GetHTMLURL(),
		NodeID: pr.GetNodeID(),
		Head:   pr.GetHead().GetRef(),
		Base:   pr.GetBase().GetRef(),
		Title:  pr.GetTitle(),
		Body:   pr.GetBody(),
		Draft:  pr.GetDraft(),
	}
	for _, l := range pr.Labels {
		out.Labels = append(out.Labels, l.GetName())
	}
	return out
}

const enableAutoMergeQuery = `mutation EnableAutoMerge($id: ID!, $method: PullRequestMergeMethod!) {
  enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: $method}) {
    pullRequest { number autoMergeRequest { mergeMethod } }
  }
}`

const enableDefaultAutoMergeQuery = `mutation EnableAutoMerge($id: ID!) {
  enablePullRequestAutoMerge(input: {pullRequestId: $id}) {
    pullRequest { number autoMergeRequest { mergeMethod } }
  }
}`

// EnableAutoMerge turns on auto-merge (GraphQL only); method is merge,
// squash or rebase, "" for the repository's default.
func (c *Client) EnableAutoMerge(ctx context.Context, pr *forge.PullRequest, method string) error {
	action := fmt.Sprintf("enable auto-merge on pull request #%d", pr.Number)
	if pr.NodeID == "" {
		return fmt.Errorf("%s: pull request has no node id", action)
	}
	query, vars := enableDefaultAutoMergeQuery, map[string]any{"id": pr.NodeID}
	if method != "" {
		m := strings.ToUpper(method)
		if !slices.Contains([]string{"MERGE", "SQUASH", "REBASE"}, m) {
			return fmt.Errorf("%s: %w: merge method %q is not merge, squash or rebase", action, forge.ErrValidation, method)
		}
		query, vars["method"] = enableAutoMergeQuery, m
	}
	var data struct {
		EnablePullRequestAutoMerge *struct {
			PullRequest struct {
				Number           int
				AutoMergeRequest *struct{ MergeMethod string }
			}
		}
	}
	if err := c.graphql(ctx, action, query, vars, &data); err != nil {
		return err
	}
	if p := data.EnablePullRequestAutoMerge; p == nil || p.PullRequest.AutoMergeRequest == nil {
		return fmt.Errorf("%s: %w: github did not report auto-merge as enabled", action, forge.ErrValidation)
	}
	return nil
}

// CommitRequest is a commit made by GitHub itself (--commit-via-api).
type CommitRequest struct {
	Branch  string
	BaseSHA string // the branch is reset to this commit first
	// ExpectedHead is where the branch must point before the reset ("":
	// it must not exist). A branch found elsewhere is left alone.
	ExpectedHead string
	Files        map[string][]byte // nil content deletes the file
	Headline     string
	Body         string
}

const createCommitQuery = `mutation CreateCommit($input: CreateCommitOnBranchInput!) {
  createCommitOnBranch(input: $input) { commit { oid } }
}`

// CommitOnBranch points req.Branch at req.BaseSHA, provided it is where the
// caller last saw it (req.ExpectedHead), then has GitHub commit req.Files on
// top with expectedHeadOid, so a concurrent push makes it fail rather than
// be overwritten. Commits made this way are signed by GitHub and show as
// Verified. Returns the new sha. A branch that moved is an error wrapping
// forge.ErrConflict.
//
// GitHub's REST API has no compare-and-swap for a forced ref update, so the
// reset of an existing branch is guarded by reading the ref just before it:
// the window left is that one round trip, where the git push has none.
func (c *Client) CommitOnBranch(ctx context.Context, req CommitRequest) (string, error) {
	action := fmt.Sprintf("commit on branch %s through the API", req.Branch)
	if err := c.resetBranch(ctx, req); err != nil {
		return "", err
	}
	paths := make([]string, 0, len(req.Files))
	for p := range req.Files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	additions, deletions := []map[string]string{}, []map[string]string{}
	for _, p := range paths {
		if req.Files[p] == nil {
			deletions = append(deletions, map[string]string{"path": p})
			continue
		}
		additions = append(additions, map[string]string{"path": p, "contents": base64.StdEncoding.EncodeToString(req.Files[p])})
	}
	input := map[string]any{
		"branch":          map[string]string{"repositoryNameWithOwner": c.owner + "/" + c.name, "branchName": req.Branch},
		"expectedHeadOid": req.BaseSHA,
		"message":         map[string]string{"headline": req.Headline, "body": req.Body},
		"fileChanges":     map[string]any{"additions": additions, "deletions": deletions},
	}
	var data struct {
		CreateCommitOnBranch *struct{ Commit *struct{ Oid string } }
	}
	if err := c.graphql(ctx, action, createCommitQuery, map[string]any{"input": input}, &data); err != nil {
		return "", err
	}
	if p := data.CreateCommitOnBranch; p == nil || p.Commit == nil || p.Commit.Oid == "" {
		return "", fmt.Errorf("%s: github returned no commit", action)
	}
	return data.CreateCommitOnBranch.Commit.Oid, nil
}

// resetBranch points req.Branch at req.BaseSHA if it is at req.ExpectedHead.
func (c *Client) resetBranch(ctx context.Context, req CommitRequest) error {
	moved := func(at string) error {
		expected := req.ExpectedHead
		if expected == "" {
			expected = "no branch"
		}
		return fmt.Errorf("reset branch %s: %w: it is at %s, expected %s", req.Branch, forge.ErrConflict, at, expected)
	}
	ref := &gh.Reference{Ref: gh.String("refs/heads/" + req.Branch), Object: &gh.GitObject{SHA: gh.String(req.BaseSHA)}}
	if req.ExpectedHead == "" {
		_, _, err := c.gh.Git.CreateRef(ctx, c.owner, c.name, ref)
		var er *gh.ErrorResponse
		if err == nil || !errors.As(err, &er) || er.Response.StatusCode != http.StatusUnprocessableEntity {
			return c.wrapIf(err, fmt.Sprintf("create branch %s", req.Branch))
		}
		// A 422: the branch exists. Fine only if a retried create of ours
		// made it; anything else was put there by someone else.
		cur, herr := c.branchHead(ctx, req.Branch)
		switch {
		case herr != nil:
			return herr
		case cur == "":
			// GitHub's 422 for a base it does not know.
			return c.wrap(err, fmt.Sprintf("create branch %s", req.Branch))
		case cur != req.BaseSHA:
			return moved(cur)
		}
		return nil
	}
	cur, err := c.branchHead(ctx, req.Branch)
	if err != nil {
		return err
	}
	if cur == req.BaseSHA {
		return nil // a previous attempt reset it already
	}
	if cur != req.ExpectedHead {
		if cur == "" {
			cur = "no branch"
		}
		return moved(cur)
	}
	if _, _, err := c.gh.Git.UpdateRef(ctx, c.owner, c.name, ref, true); err != nil {
		return c.wrap(err, fmt.Sprintf("reset branch %s to %s", req.Branch, req.BaseSHA))
	}
	return nil
}

// branchHead is where a branch points now; "" when it does not exist.
func (c *Client) branchHead(ctx context.Context, branch string) (string, error) {
	ref, resp, err := c.gh.Git.GetRef(ctx, c.owner, c.name, "refs/heads/"+branch)
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return "", nil
	}
	if err != nil {
		return "", c.wrap(err, fmt.Sprintf("read branch %s", branch))
	}
	return ref.GetObject().GetSHA(), nil
}

func (c *Client) wrapIf(err error, action string) error {
	if err == nil {
		return nil
	}
	return c.wrap(err, action)
}

type graphqlError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// graphql posts one query through go-github's client, so HTTP errors and
// rate limits are reported exactly as for REST.
func (c *Client) graphql(ctx context.Context, action, query string, vars map[string]any, data any) error {
	req, err := c.gh.NewRequest(http.MethodPost, c.graphqlURL, map[string]any{"query": query, "variables": vars})
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	var resp struct {
		Data   json.RawMessage `json:"data"`
		Errors []graphqlError  `json:"errors"`
	}
	if _, err := c.gh.Do(ctx, req, &resp); err != nil {
		return c.wrap(err, action)
	}
	if len(resp.Errors) > 0 {
		sentinel := forge.ErrValidation
		switch resp.Errors[0].Type {
		case "NOT_FOUND":
			sentinel = forge.ErrNotFound
		case "FORBIDDEN", "INSUFFICIENT_SCOPES":
			sentinel = forge.ErrForbidden
		case "STALE_DATA":
			// createCommitOnBranch's expectedHeadOid did not match.
			sentinel = forge.ErrConflict
		case "RATE_LIMITED":
			return fmt.Errorf("%s: %w", action, &forge.RateLimitError{Message: forge.OneLine(resp.Errors[0].Message)})
		}
		msgs := make([]string, 0, len(resp.Errors))
		for _, e := range resp.Errors {
			msgs = append(msgs, e.Message)
		}
		return fmt.Errorf("%s: %w: %s", action, sentinel, forge.OneLine(strings.Join(msgs, "; ")))
	}
	if len(resp.Data) == 0 || string(resp.Data) == "null" {
		return fmt.Errorf("%s: github returned no data", action)
	}
	if err := json.Unmarshal(resp.Data, data); err != nil {
		return fmt.Errorf("%s: decode response: %w", action, err)
	}
	return nil
}

// wrap turns a go-github error into one line wrapping a forge sentinel.
func (c *Client) wrap(err error, action string) error {
	return mapError(err, action, c.owner+"/"+c.name)
}

func mapError(err error, action, repo string) error {
	var rl *gh.RateLimitError
	var abuse *gh.AbuseRateLimitError
	var er *gh.ErrorResponse
	switch {
	case errors.As(err, &rl):
		return fmt.Errorf("%s: %w", action, &forge.RateLimitError{
			RetryAfter: max(time.Until(rl.Rate.Reset.Time), 0),
			Message:    fmt.Sprintf("API quota of %d requests used up until %s", rl.Rate.Limit, rl.Rate.Reset.UTC().Format(time.RFC3339)),
		})
	case errors.As(err, &abuse):
		return fmt.Errorf("%s: %w", action, &forge.RateLimitError{RetryAfter: abuse.GetRetryAfter(), Message: forge.OneLine(abuse.Message)})
	case errors.As(err, &er) && er.Response != nil:
		msg := detail(er)
		if msg == "" {
			// A body that is not GitHub's JSON (or was cut to its prefix).
			msg = fmt.Sprintf("github answered %d with no readable message", er.Response.StatusCode)
		}
		code := er.Response.StatusCode
		return forge.StatusError(action, forge.APIError{
			Forge: "github", Status: code, Header: er.Response.Header, Message: msg,
			Forbidden: "token lacks permission/scope on " + repo,
			NotFound:  "repository " + repo + " not found or token cannot see it",
			Exists:    (code == http.StatusUnprocessableEntity || code == http.StatusBadRequest) && strings.Contains(msg, "already exists"),
		})
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", action, err)
	default:
		return fmt.Errorf("%s: %w: %s", action, forge.ErrUnavailable, forge.OneLine(err.Error()))
	}
}

// detail joins GitHub's message with the per-field errors it lists.
func detail(er *gh.ErrorResponse) string {
	parts := []string{er.Message}
	for _, e := range er.Errors {
		switch {
		case e.Message != "":
			parts = append(parts, e.Message)
		case e.Field != "":
			parts = append(parts, fmt.Sprintf("%s %s is %s", e.Resource, e.Field, e.Code))
		}
	}
	return forge.OneLine(strings.Join(parts, ": "))
}
