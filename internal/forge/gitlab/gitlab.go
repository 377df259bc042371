// Package gitlab is the merge-request adapter over GitLab's Go client
// (gitlab.com/gitlab-org/api/client-go). It is thin: it maps bump's forge
// types to GitLab's API and GitLab's errors to forge's sentinels, and
// leaves "find, else create, else update" to its caller.
package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/bump-gitops/bump/internal/forge"
)

// DefaultBaseURL is gitlab.com, whose API is under /api/v4.
const DefaultBaseURL = "https://gitlab.com"

// Options configures a Client.
type Options struct {
	BaseURL  string // "" = https://gitlab.com; self-hosted: https://gitlab.example.com (a trailing /api/v4 is fine)
	Token    string
	JobToken bool // Token is a CI_JOB_TOKEN, sent as JOB-TOKEN
	Repo     forge.Repo
	// HTTPClient is optional and lends its transport (tests).
	HTTPClient *http.Client
	Retry      forge.RetryOptions
	Timeouts   forge.Timeouts
}

// Client implements bump's Forge interface for one GitLab project.
type Client struct {
	api      *gl.Client
	project  string
	jobToken bool
}

// New builds a client. client-go's own retries are off: retries happen
// once, in forge's retry transport, within a bounded time.
func New(opts Options) (*Client, error) {
	if opts.Token == "" {
		return nil, errors.New("gitlab: a token is required")
	}
	if opts.Repo.Path == "" {
		return nil, errors.New("gitlab: the project path is required")
	}
	base := DefaultBaseURL
	if opts.BaseURL != "" {
		// Accept CI_API_V4_URL as well as CI_SERVER_URL.
		base = strings.TrimSuffix(strings.TrimSuffix(opts.BaseURL, "/"), "/api/v4")
	}
	// The transport attaches the token, to this origin only; client-go sets
	// it too, and the transport removes that from a request anywhere else.
	header := gl.AccessTokenHeaderName
	if opts.JobToken {
		header = gl.JobTokenHeaderName
	}
	hc, err := forge.NewHTTPClient(forge.ClientOptions{
		Base:       opts.HTTPClient,
		Credential: forge.Credential{Origin: base, Header: header, Value: opts.Token},
		Retry:      opts.Retry,
		Timeouts:   opts.Timeouts,
	})
	if err != nil {
		return nil, fmt.Errorf("gitlab: %w", err)
	}
	co := []gl.ClientOptionFunc{gl.WithHTTPClient(hc), gl.WithoutRetries(), gl.WithCustomRetryMax(0), gl.WithBaseURL(base + "/api/v4")}
	var api *gl.Client
	if opts.JobToken {
		api, err = gl.NewJobClient(opts.Token, co...)
	} else {
		api, err = gl.NewClient(opts.Token, co...)
	}
	if err != nil {
		return nil, fmt.Errorf("gitlab client: %w", err)
	}
	return &Client{api: api, project: opts.Repo.Path, jobToken: opts.JobToken}, nil
}

// FindPullRequest returns the open merge request from head into base, or nil.
func (c *Client) FindPullRequest(ctx context.Context, head, base string) (*forge.PullRequest, error) {
	mrs, _, err := c.api.MergeRequests.ListProjectMergeRequests(c.project, &gl.ListProjectMergeRequestsOptions{
		State: gl.Ptr("opened"), SourceBranch: gl.Ptr(head), TargetBranch: gl.Ptr(base),
	}, gl.WithContext(ctx))
	if err != nil {
		return nil, c.wrap(err, "find merge request from "+head)
	}
	if len(mrs) == 0 {
		return nil, nil
	}
	pr := fromBasic(mrs[0])
	return &pr, nil
}

// CreatePullRequest opens a merge request with labels, assignees,
// reviewers, squash and source-branch removal in the one create call;
// reviewers and assignees cost one user lookup each, auto-merge one call.
func (c *Client) CreatePullRequest(ctx context.Context, spec forge.PullRequestSpec) (*forge.PullRequest, error) {
	opt := &gl.CreateMergeRequestOptions{
		Title:        gl.Ptr(title(spec)),
		Description:  gl.Ptr(spec.Body),
		SourceBranch: gl.Ptr(spec.Head),
		TargetBranch: gl.Ptr(spec.Base),
	}
	if len(spec.Labels) > 0 {
		opt.Labels = gl.Ptr(gl.LabelOptions(spec.Labels))
	}
	if spec.RemoveSourceBranch {
		opt.RemoveSourceBranch = gl.Ptr(true)
	}
	if spec.Squash {
		opt.Squash = gl.Ptr(true)
	}
	var err error
	if opt.AssigneeIDs, err = c.userIDs(ctx, spec.Assignees); err != nil {
		return nil, err
	}
	if opt.ReviewerIDs, err = c.userIDs(ctx, spec.Reviewers); err != nil {
		return nil, err
	}
	mr, _, err := c.api.MergeRequests.CreateMergeRequest(c.project, opt, gl.WithContext(ctx))
	if err != nil {
		return nil, c.wrap(err, "open merge request from "+spec.Head)
	}
	pr := fromMR(mr)
	if spec.AutoMerge {
		if err := c.autoMerge(ctx, pr.Number); err != nil {
			return &pr, err
		}
	}
	return &pr, nil
}

// UpdatePullRequest sets title and description (one call, with labels,
// assignees and reviewers when asked), then auto-merge when asked.
// The draft state stays as the merge request has it: on GitLab it lives in
// the title, and a person who marked the merge request ready meant it.
func (c *Client) UpdatePullRequest(ctx context.Context, pr *forge.PullRequest, spec forge.PullRequestSpec) (*forge.PullRequest, error) {
	spec.Draft = pr.Draft
	opt := &gl.UpdateMergeRequestOptions{Title: gl.Ptr(title(spec)), Description: gl.Ptr(spec.Body)}
	if len(spec.Labels) > 0 {
		// add_labels keeps labels people put on the merge request by hand.
		opt.AddLabels = gl.Ptr(gl.LabelOptions(spec.Labels))
	}
	var err error
	if opt.AssigneeIDs, err = c.userIDs(ctx, spec.Assignees); err != nil {
		return nil, err
	}
	if opt.ReviewerIDs, err = c.userIDs(ctx, spec.Reviewers); err != nil {
		return nil, err
	}
	mr, _, err := c.api.MergeRequests.UpdateMergeRequest(c.project, int64(pr.Number), opt, gl.WithContext(ctx))
	if err != nil {
		return nil, c.wrapMR(err, fmt.Sprintf("update merge request !%d", pr.Number), pr.Number)
	}
	out := fromMR(mr)
	if spec.AutoMerge {
		if err := c.autoMerge(ctx, out.Number); err != nil {
			return &out, err
		}
	}
	return &out, nil
}

// ListPullRequests returns the open merge requests into base; the first
// 100 are enough, since bump keeps at most one per set of images.
func (c *Client) ListPullRequests(ctx context.Context, base string) ([]forge.PullRequest, error) {
	mrs, _, err := c.api.MergeRequests.ListProjectMergeRequests(c.project, &gl.ListProjectMergeRequestsOptions{
		State: gl.Ptr("opened"), TargetBranch: gl.Ptr(base), ListOptions: gl.ListOptions{PerPage: 100},
	}, gl.WithContext(ctx))
	if err != nil {
		return nil, c.wrap(err, "list merge requests into "+base)
	}
	out := make([]forge.PullRequest, len(mrs))
	for i, m := range mrs {
		out[i] = fromBasic(m)
	}
	return out, nil
}

// ClosePullRequest posts comment as a note, then closes the merge request.
func (c *Client) ClosePullRequest(ctx context.Context, pr *forge.PullRequest, comment string) error {
	if comment != "" {
		_, _, err := c.api.Notes.CreateMergeRequestNote(c.project, int64(pr.Number), &gl.CreateMergeRequestNoteOptions{Body: gl.Ptr(comment)}, gl.WithContext(ctx))
		if err != nil {
			return c.wrapMR(err, fmt.Sprintf("comment on merge request !%d", pr.Number), pr.Number)
		}
	}
	_, _, err := c.api.MergeRequests.UpdateMergeRequest(c.project, int64(pr.Number), &gl.UpdateMergeRequestOptions{StateEvent: gl.Ptr("close")}, gl.WithContext(ctx))
	if err != nil {
		return c.wrapMR(err, fmt.Sprintf("close merge request !%d", pr.Number), pr.Number)
	}
	return nil
}

// autoMerge asks GitLab to merge when the pipeline succeeds. Both fields
// are sent: auto_merge for current servers, the older name for the rest.
func (c *Client) autoMerge(ctx context.Context, iid int) error {
	opt := &gl.AcceptMergeRequestOptions{AutoMerge: gl.Ptr(true)}
	//lint:ignore SA1019 GitLab before 17.11 knows only the deprecated name.
	opt.MergeWhenPipelineSucceeds = gl.Ptr(true)
	_, _, err := c.api.MergeRequests.AcceptMergeRequest(c.project, int64(iid), opt, gl.WithContext(ctx))
	if err != nil {
		return c.wrapMR(err, fmt.Sprintf("enable auto-merge on !%d", iid), iid)
	}
	return nil
}

// userIDs resolves usernames with the project's member search, one call
// per name, only when names are given.
func (c *Client) userIDs(ctx context.Context, names []string) (*[]int64, error) {
	if len(names) == 0 {
		return nil, nil
	}
	ids := make([]int64, 0, len(names))
	for _, name := range names {
		name = strings.TrimPrefix(name, "@")
		users, _, err := c.api.Projects.ListProjectsUsers(c.project, &gl.ListProjectUserOptions{Search: gl.Ptr(name)}, gl.WithContext(ctx))
		if err != nil {
			return nil, c.wrap(err, "look up user "+name)
		}
		found := false
		for _, u := range users {
			if strings.EqualFold(u.Username, name) {
				ids, found = append(ids, u.ID), true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("look up user %s: %w: no member of %s has that username", name, forge.ErrValidation, c.project)
		}
	}
	return &ids, nil
}

// title marks drafts the way GitLab does.
func title(spec forge.PullRequestSpec) string {
	if spec.Draft && !strings.HasPrefix(spec.Title, "Draft:") {
		return "Draft: " + spec.Title
	}
	return spec.Title
}

func fromBasic(m *gl.BasicMergeRequest) forge.PullRequest {
	return forge.PullRequest{
		Number: int(m.IID), URL: m.WebURL, Head: m.SourceBranch, Base: m.TargetBranch,
		Title: m.Title, Body: m.Description, Labels: m.Labels, Draft: m.Draft,
	}
}

func fromMR(m *gl.MergeRequest) forge.PullRequest { return fromBasic(&m.BasicMergeRequest) }

// wrapMR is wrap for calls on one merge request, whose 404 more likely
// means the merge request is gone than the project.
func (c *Client) wrapMR(err error, action string, iid int) error {
	if errors.Is(err, gl.ErrNotFound) {
		return fmt.Errorf("%s: %w: merge request !%d of %s not found or token cannot see it", action, forge.ErrNotFound, iid, c.project)
	}
	return c.wrap(err, action)
}

// wrap turns a client-go error into one line wrapping a forge sentinel.
func (c *Client) wrap(err error, action string) error {
	if errors.Is(err, gl.ErrNotFound) {
		// client-go answers every 404 with this bare sentinel.
		return fmt.Errorf("%s: %w: project %s not found or token cannot see it", action, forge.ErrNotFound, c.project)
	}
	var er *gl.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%s: %w", action, err)
		}
		return fmt.Errorf("%s: %w: %s", action, forge.ErrUnavailable, forge.OneLine(err.Error()))
	}
	msg := message(er)
	code := er.Response.StatusCode
	if c.jobToken && (code == http.StatusUnauthorized || code == http.StatusForbidden) {
		return fmt.Errorf("%s: %w: CI_JOB_TOKEN cannot open merge requests; create a project access token with the api and write_repository scopes and pass it as GITLAB_TOKEN (or BUMP_TOKEN)", action, forge.ErrForbidden)
	}
	if code == http.StatusTooManyRequests {
		if d, _ := forge.RetryAfter(er.Response.Header, time.Now()); d > 0 {
			msg = fmt.Sprintf("%s; retry in %s", msg, d.Round(time.Second))
		}
	}
	return forge.StatusError(action, forge.APIError{
		Forge: "gitlab", Status: code, Header: er.Response.Header, Message: msg,
		Forbidden: "token lacks permission on " + c.project + " (needs the api scope and Developer role)",
		NotFound:  "project " + c.project + " not found or token cannot see it",
		Exists:    code == http.StatusConflict,
	})
}

// message is GitLab's own explanation, flattened to one line. GitLab puts
// it under "message" as a string, a list, or a map of field to list; OAuth
// errors use "error" and "error_description" instead.
func message(er *gl.ErrorResponse) string {
	var body struct {
		Message     any    `json:"message"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(er.Body, &body) != nil {
		return forge.OneLine(er.Message)
	}
	var parts []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case string:
			parts = append(parts, prefix+v)
		case []any:
			for _, x := range v {
				walk(prefix, x)
			}
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(v)) {
				walk(prefix+k+" ", v[k])
			}
		}
	}
	walk("", body.Message)
	if body.Error != "" {
		parts = append(parts, strings.TrimSpace(body.Error+" "+body.Description))
	}
	if len(parts) == 0 {
		return forge.OneLine(er.Message)
	}
	return forge.OneLine(strings.Join(parts, "; "))
}
