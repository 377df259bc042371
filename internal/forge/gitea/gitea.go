// Package gitea is the pull-request adapter for Gitea and Forgejo (whose
// API is a superset), over code.gitea.io/sdk/gitea. Like the GitHub and
// GitLab adapters it is thin: it maps bump's forge types to Gitea's API and
// Gitea's answers to forge's sentinels, and leaves "find, else create,
// else update" to its caller.
package gitea

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/bump-gitops/bump/internal/forge"
)

// Options configures New.
type Options struct {
	// BaseURL is the server's base URL, e.g. https://gitea.example.com or
	// https://codeberg.org (a trailing /api/v1 is fine). Required: there is
	// no one public Gitea.
	BaseURL string
	Token   string
	Repo    forge.Repo
	// HTTPClient is optional and lends its transport (tests).
	HTTPClient *http.Client
	Retry      forge.RetryOptions
	Timeouts   forge.Timeouts
	// MergeWait bounds how long auto-merge retries Gitea's "Please try
	// again later", which the merge endpoint answers while it is still
	// checking a pull request that was just opened or pushed; default 30s.
	MergeWait time.Duration
}

// Client implements bump's Forge interface for one repository.
type Client struct {
	hc        *http.Client
	base      string // without /api/v1 and without a trailing slash
	owner     string
	name      string
	mergeWait time.Duration
}

// New builds a client. It makes no API call.
func New(opts Options) (*Client, error) {
	if opts.Token == "" {
		return nil, errors.New("gitea: a token is required")
	}
	owner, name, ok := strings.Cut(opts.Repo.Path, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("gitea: repository %q is not owner/name", opts.Repo.Path)
	}
	base := strings.TrimSuffix(strings.TrimSuffix(opts.BaseURL, "/"), "/api/v1")
	if u, err := url.Parse(base); err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("gitea: server URL %q is not an absolute URL (give --forge-url)", opts.BaseURL)
	}
	// The token goes in the transport only, which sends it to this origin
	// and nowhere else; the SDK never sees it.
	hc, err := forge.NewHTTPClient(forge.ClientOptions{
		Base:       opts.HTTPClient,
		Credential: forge.Credential{Origin: base, Header: "Authorization", Value: "token " + opts.Token},
		Retry:      opts.Retry,
		Timeouts:   opts.Timeouts,
	})
	if err != nil {
		return nil, fmt.Errorf("gitea: %w", err)
	}
	wait := opts.MergeWait
	if wait <= 0 {
		wait = 30 * time.Second
	}
	return &Client{hc: hc, base: base, owner: owner, name: name, mergeWait: wait}, nil
}

// api is an SDK client for one call's context. The SDK holds one context
// per client, so each call gets its own; building one costs nothing, since
// SetGiteaVersion("") skips the SDK's version probe (an API call).
func (c *Client) api(ctx context.Context) *sdk.Client {
	api, err := sdk.NewClient(c.base, sdk.SetHTTPClient(c.hc), sdk.SetGiteaVersion(""), sdk.SetContext(ctx), sdk.SetUserAgent("bump"))
	if err != nil {
		// NewClient fails only on a version probe, which is off.
		panic(fmt.Sprintf("gitea sdk client: %v", err))
	}
	return api
}

// Page bounds for listing open pull requests: Gitea caps a page at 50 by
// default, and 20 pages are far more open pull requests than bump keeps.
const (
	pageSize = 50
	maxPages = 20
)

// FindPullRequest returns the open pull request from head into base, or
// nil. One call unless the repository has more than 50 open pull requests.
// (Gitea's pulls/{base}/{head} lookup may return a closed one, so the open
// list is searched instead.)
func (c *Client) FindPullRequest(ctx context.Context, head, base string) (*forge.PullRequest, error) {
	var found *forge.PullRequest
	err := c.eachOpen(ctx, fmt.Sprintf("find pull request %s into %s", head, base), func(pr *sdk.PullRequest) bool {
		if sameRepo(pr) && pr.Head.Ref == head && pr.Base.Ref == base {
			out := toPR(pr)
			found = &out
			return false
		}
		return true
	})
	return found, err
}

// ListPullRequests returns the open pull requests into base.
func (c *Client) ListPullRequests(ctx context.Context, base string) ([]forge.PullRequest, error) {
	var out []forge.PullRequest
	err := c.eachOpen(ctx, "list pull requests into "+base, func(pr *sdk.PullRequest) bool {
		if pr.Base != nil && pr.Base.Ref == base {
			out = append(out, toPR(pr))
		}
		return true
	})
	return out, err
}

// eachOpen calls fn for each open pull request, page by page, until fn
// returns false or the pages end (bounded by maxPages).
func (c *Client) eachOpen(ctx context.Context, action string, fn func(*sdk.PullRequest) bool) error {
	api := c.api(ctx)
	for page := 1; page <= maxPages; page++ {
		prs, resp, err := api.ListRepoPullRequests(c.owner, c.name, sdk.ListPullRequestsOptions{
			ListOptions: sdk.ListOptions{Page: page, PageSize: pageSize},
			State:       sdk.StateOpen,
		})
		if err != nil {
			return c.wrap(err, resp, action)
		}
		for _, pr := range prs {
			if !fn(pr) {
				return nil
			}
		}
		if len(prs) < pageSize || resp == nil || resp.NextPage == 0 {
			return nil
		}
	}
	return nil
}

// CreatePullRequest opens a pull request with labels, assignees and
// reviewers in the one create call; labels cost one call to resolve their
// names to ids, auto-merge one more. Gitea's 409 for a pull request already
// open from head becomes an error wrapping forge.ErrExists.
func (c *Client) CreatePullRequest(ctx context.Context, spec forge.PullRequestSpec) (*forge.PullRequest, error) {
	action := fmt.Sprintf("create pull request %s into %s", spec.Head, spec.Base)
	labels, err := c.labelIDs(ctx, spec.Labels, nil)
	if err != nil {
		return nil, err
	}
	users, teams := splitReviewers(spec.Reviewers)
	api := c.api(ctx)
	pr, resp, err := api.CreatePullRequest(c.owner, c.name, sdk.CreatePullRequestOption{
		Head: spec.Head, Base: spec.Base, Title: title(spec), Body: spec.Body,
		Assignees: spec.Assignees, Reviewers: users, TeamReviewers: teams, Labels: labels,
	})
	if err != nil {
		return nil, c.wrap(err, resp, action)
	}
	out := toPR(pr)
	if spec.AutoMerge {
		if err := c.AutoMerge(ctx, &out, spec.MergeMethod); err != nil {
			return &out, err
		}
	}
	return &out, nil
}

// UpdatePullRequest sets title, body, and (when asked) labels and
// assignees in one call; reviewers and auto-merge add a call each, labels
// one to resolve their names. The draft state stays as the pull request
// has it: on Gitea it lives in the title, and a person who marked the pull
// request ready meant it. Labels are added to those it has, not replacing
// them: Gitea's edit replaces the set, so the set sent is the union.
func (c *Client) UpdatePullRequest(ctx context.Context, pr *forge.PullRequest, spec forge.PullRequestSpec) (*forge.PullRequest, error) {
	action := fmt.Sprintf("update pull request #%d", pr.Number)
	spec.Draft = pr.Draft
	labels, err := c.labelIDs(ctx, spec.Labels, pr.Labels)
	if err != nil {
		return nil, err
	}
	body := spec.Body
	api := c.api(ctx)
	updated, resp, err := api.EditPullRequest(c.owner, c.name, int64(pr.Number), sdk.EditPullRequestOption{
		Title: title(spec), Body: &body, Assignees: spec.Assignees, Labels: labels,
	})
	if err != nil {
		return nil, c.wrapPR(err, resp, action, pr.Number)
	}
	out := toPR(updated)
	if users, teams := splitReviewers(spec.Reviewers); len(users)+len(teams) > 0 {
		resp, err := api.CreateReviewRequests(c.owner, c.name, int64(pr.Number), sdk.PullReviewRequestOptions{Reviewers: users, TeamReviewers: teams})
		if err != nil {
			return &out, c.wrapPR(err, resp, fmt.Sprintf("request reviewers on pull request #%d", pr.Number), pr.Number)
		}
	}
	if spec.AutoMerge {
		if err := c.AutoMerge(ctx, &out, spec.MergeMethod); err != nil {
			return &out, err
		}
	}
	return &out, nil
}

// ClosePullRequest posts comment (when non-empty), then closes the pull request.
func (c *Client) ClosePullRequest(ctx context.Context, pr *forge.PullRequest, comment string) error {
	api := c.api(ctx)
	if comment != "" {
		_, resp, err := api.CreateIssueComment(c.owner, c.name, int64(pr.Number), sdk.CreateIssueCommentOption{Body: comment})
		if err != nil {
			return c.wrapPR(err, resp, fmt.Sprintf("comment on pull request #%d", pr.Number), pr.Number)
		}
	}
	closed := sdk.StateClosed
	_, resp, err := api.EditPullRequest(c.owner, c.name, int64(pr.Number), sdk.EditPullRequestOption{State: &closed})
	if err != nil {
		return c.wrapPR(err, resp, fmt.Sprintf("close pull request #%d", pr.Number), pr.Number)
	}
	return nil
}

// labelIDs resolves names (and keep, the labels the pull request already
// has) to ids with one listing of the repository's labels, plus one of
// the owner organisation's when a name is not a repository label. A name
// found in neither is an error: bump does not invent labels.
func (c *Client) labelIDs(ctx context.Context, names, keep []string) ([]int64, error) {
	if len(names) == 0 {
		return nil, nil
	}
	action := "resolve labels"
	api := c.api(ctx)
	byName := map[string]int64{}
	repoLabels, resp, err := listAll(func(o sdk.ListOptions) ([]*sdk.Label, *sdk.Response, error) {
		return api.ListRepoLabels(c.owner, c.name, sdk.ListLabelsOptions{ListOptions: o})
	})
	if err != nil {
		return nil, c.wrap(err, resp, action)
	}
	for _, l := range repoLabels {
		byName[l.Name] = l.ID
	}
	missing := func() []string {
		var m []string
		for _, n := range names {
			if _, ok := byName[n]; !ok {
				m = append(m, n)
			}
		}
		return m
	}
	if len(missing()) > 0 {
		orgLabels, resp, err := listAll(func(o sdk.ListOptions) ([]*sdk.Label, *sdk.Response, error) {
			return api.ListOrgLabels(c.owner, sdk.ListOrgLabelsOptions{ListOptions: o})
		})
		// A user-owned repository has no organisation: 404 means none.
		if err != nil && (resp == nil || resp.StatusCode != http.StatusNotFound) {
			return nil, c.wrap(err, resp, action)
		}
		for _, l := range orgLabels {
			if _, ok := byName[l.Name]; !ok {
				byName[l.Name] = l.ID
			}
		}
	}
	if m := missing(); len(m) > 0 {
		return nil, fmt.Errorf("%s: %w: label %q does not exist in %s/%s; create it there first", action, forge.ErrValidation, m[0], c.owner, c.name)
	}
	seen := map[int64]bool{}
	var ids []int64
	for _, n := range append(append([]string{}, keep...), names...) {
		if id, ok := byName[n]; ok && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// listAll pages through a label listing, bounded by maxPages.
func listAll(list func(sdk.ListOptions) ([]*sdk.Label, *sdk.Response, error)) ([]*sdk.Label, *sdk.Response, error) {
	var all []*sdk.Label
	for page := 1; page <= maxPages; page++ {
		ls, resp, err := list(sdk.ListOptions{Page: page, PageSize: pageSize})
		if err != nil {
			return nil, resp, err
		}
		all = append(all, ls...)
		if len(ls) < pageSize || resp == nil || resp.NextPage == 0 {
			break
		}
	}
	return all, nil, nil
}

// splitReviewers sends "org/team" as a team review request, anything else
// as a user.
func splitReviewers(names []string) (users, teams []string) {
	for _, r := range names {
		if _, team, ok := strings.Cut(r, "/"); ok {
			teams = append(teams, team)
		} else {
			users = append(users, strings.TrimPrefix(r, "@"))
		}
	}
	return users, teams
}

// draftPrefix is how Gitea marks a work-in-progress pull request (the
// first of its default WORK_IN_PROGRESS_PREFIXES).
const draftPrefix = "WIP: "

func title(spec forge.PullRequestSpec) string {
	if spec.Draft && !isDraftTitle(spec.Title) {
		return draftPrefix + spec.Title
	}
	return spec.Title
}

// isDraftTitle matches Gitea's default prefixes, WIP: and [WIP], as Gitea
// does: case-insensitively.
func isDraftTitle(t string) bool {
	u := strings.ToUpper(t)
	return strings.HasPrefix(u, "WIP:") || strings.HasPrefix(u, "[WIP]")
}

// sameRepo is true for a pull request between branches of one repository
// (bump never opens one from a fork).
func sameRepo(pr *sdk.PullRequest) bool {
	return pr.Head != nil && pr.Base != nil && pr.Head.RepoID == pr.Base.RepoID
}

func toPR(pr *sdk.PullRequest) forge.PullRequest {
	out := forge.PullRequest{
		Number: int(pr.Index),
		URL:    pr.HTMLURL,
		Title:  pr.Title,
		Body:   pr.Body,
		// Gitea reports draft from the title prefix; older servers lack
		// the field, so the prefix counts too.
		Draft: pr.Draft || isDraftTitle(pr.Title),
	}
	if pr.Head != nil {
		out.Head = pr.Head.Ref
	}
	if pr.Base != nil {
		out.Base = pr.Base.Ref
	}
	for _, l := range pr.Labels {
		out.Labels = append(out.Labels, l.Name)
	}
	return out
}
