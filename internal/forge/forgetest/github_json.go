package forgetest

import (
	"strconv"
	"strings"
)

// The builders below produce the full response objects the description
// requires; Validate checks them, so a missing required field fails tests.

const ghTime = "2024-01-02T03:04:05Z"

func (g *GitHub) apiURL(parts ...string) string {
	return g.server.URL + "/repos/" + g.opts.Owner + "/" + g.opts.Repo + "/" + strings.Join(parts, "/")
}

func (g *GitHub) htmlURL(parts ...string) string {
	return g.server.URL + "/" + g.opts.Owner + "/" + g.opts.Repo + "/" + strings.Join(parts, "/")
}

func (g *GitHub) userJSON(login string, id int64) map[string]any {
	u := g.server.URL + "/users/" + login
	return map[string]any{
		"login": login, "id": id, "node_id": "U_fake" + strconv.FormatInt(id, 10),
		"avatar_url": g.server.URL + "/avatars/" + login, "gravatar_id": "",
		"url": u, "html_url": g.server.URL + "/" + login,
		"followers_url": u + "/followers", "following_url": u + "/following{/other_user}",
		"gists_url": u + "/gists{/gist_id}", "starred_url": u + "/starred{/owner}{/repo}",
		"subscriptions_url": u + "/subscriptions", "organizations_url": u + "/orgs",
		"repos_url": u + "/repos", "events_url": u + "/events{/privacy}",
		"received_events_url": u + "/received_events", "type": "User", "site_admin": false,
	}
}

// repoJSON renders the repository as the pull request's head and base
// embed it (the repository schema without the counts repos/get adds).
func (g *GitHub) repoJSON() map[string]any {
	base := g.server.URL + "/repos/" + g.opts.Owner + "/" + g.opts.Repo
	html := g.htmlURL()
	html = strings.TrimSuffix(html, "/")
	r := map[string]any{
		"id": 1296269, "node_id": "R_fake1", "name": g.opts.Repo, "full_name": g.opts.Owner + "/" + g.opts.Repo,
		"owner": g.userJSON(g.opts.Owner, 1), "private": true, "html_url": html, "description": nil,
		"fork": false, "url": base, "archive_url": base + "/{archive_format}{/ref}",
		"assignees_url": base + "/assignees{/user}", "blobs_url": base + "/git/blobs{/sha}",
		"branches_url": base + "/branches{/branch}", "collaborators_url": base + "/collaborators{/collaborator}",
		"comments_url": base + "/comments{/number}", "commits_url": base + "/commits{/sha}",
		"compare_url": base + "/compare/{base}...{head}", "contents_url": base + "/contents/{+path}",
		"contributors_url": base + "/contributors", "deployments_url": base + "/deployments",
		"downloads_url": base + "/downloads", "events_url": base + "/events", "forks_url": base + "/forks",
		"git_commits_url": base + "/git/commits{/sha}", "git_refs_url": base + "/git/refs{/sha}",
		"git_tags_url": base + "/git/tags{/sha}", "git_url": "git://example.invalid/" + g.opts.Owner + "/" + g.opts.Repo + ".git",
		"issue_comment_url": base + "/issues/comments{/number}", "issue_events_url": base + "/issues/events{/number}",
		"issues_url": base + "/issues{/number}", "keys_url": base + "/keys{/key_id}", "labels_url": base + "/labels{/name}",
		"languages_url": base + "/languages", "merges_url": base + "/merges", "milestones_url": base + "/milestones{/number}",
		"notifications_url": base + "/notifications{?since,all,participating}", "pulls_url": base + "/pulls{/number}",
		"releases_url": base + "/releases{/id}", "ssh_url": "git@example.invalid:" + g.opts.Owner + "/" + g.opts.Repo + ".git",
		"stargazers_url": base + "/stargazers", "statuses_url": base + "/statuses/{sha}", "subscribers_url": base + "/subscribers",
		"subscription_url": base + "/subscription", "tags_url": base + "/tags", "teams_url": base + "/teams",
		"trees_url": base + "/git/trees{/sha}", "clone_url": html + ".git", "mirror_url": nil, "hooks_url": base + "/hooks",
		"svn_url": html, "homepage": nil, "language": nil, "forks_count": 0, "forks": 0, "stargazers_count": 0,
		"watchers_count": 0, "watchers": 0, "size": 1, "default_branch": g.opts.DefaultBranch, "open_issues_count": 0,
		"open_issues": 0, "has_issues": true, "has_projects": false, "has_wiki": false, "has_pages": false,
		"has_downloads": false, "has_discussions": false, "archived": false, "disabled": false, "license": nil,
		"pushed_at": ghTime, "created_at": ghTime, "updated_at": ghTime, "visibility": "private",
	}
	return r
}

func link(href string) map[string]any { return map[string]any{"href": href} }

func (g *GitHub) labelJSON(name string) map[string]any {
	return map[string]any{
		"id": g.labels[name], "node_id": "LA_fake" + strconv.FormatInt(g.labels[name], 10),
		"url": g.apiURL("labels", name), "name": name, "description": "", "color": "ededed", "default": false,
	}
}

func (g *GitHub) prBranchJSON(branch string) map[string]any {
	sha, ok := g.head(branch)
	if !ok {
		sha = strings.Repeat("0", 40)
	}
	return map[string]any{
		"label": g.opts.Owner + ":" + branch, "ref": branch, "sha": sha,
		"repo": g.repoJSON(), "user": g.userJSON(g.opts.Owner, 1),
	}
}

// prJSON renders pr as the pull-request schema (full) or pull-request-simple.
func (g *GitHub) prJSON(pr *GitHubPR, full bool) map[string]any {
	n := strconv.Itoa(pr.Number)
	self := g.apiURL("pulls", n)
	labels := []any{}
	for _, l := range pr.Labels {
		labels = append(labels, g.labelJSON(l))
	}
	users, teams := []any{}, []any{}
	for i, r := range pr.Reviewers {
		users = append(users, g.userJSON(r, int64(100+i)))
	}
	for i, t := range pr.TeamReviewers {
		teams = append(teams, map[string]any{
			"id": 500 + i, "node_id": "T_fake" + t, "url": g.server.URL + "/teams/" + t, "members_url": g.server.URL + "/teams/" + t + "/members{/member}",
			"name": t, "description": nil, "permission": "pull", "html_url": g.server.URL + "/orgs/" + g.opts.Owner + "/teams/" + t,
			"repositories_url": g.server.URL + "/teams/" + t + "/repos", "slug": t, "parent": nil, "type": "organization",
		})
	}
	assignees := []any{}
	for i, a := range pr.Assignees {
		assignees = append(assignees, g.userJSON(a, int64(200+i)))
	}
	var assignee any
	if len(assignees) > 0 {
		assignee = assignees[0]
	}
	var autoMerge any
	if pr.AutoMerge != "" {
		autoMerge = map[string]any{"enabled_by": g.userJSON("bump-bot", 7), "merge_method": strings.ToLower(pr.AutoMerge),
			"commit_title": pr.Title, "commit_message": ""}
	}
	var closedAt any
	if pr.State == "closed" {
		closedAt = ghTime
	}
	out := map[string]any{
		"url": self, "id": 10000 + pr.Number, "node_id": pr.NodeID, "html_url": g.htmlURL("pull", n),
		"diff_url": g.htmlURL("pull", n+".diff"), "patch_url": g.htmlURL("pull", n+".patch"),
		"issue_url": g.apiURL("issues", n), "commits_url": self + "/commits", "review_comments_url": self + "/comments",
		"review_comment_url": g.apiURL("pulls", "comments{/number}"), "comments_url": g.apiURL("issues", n, "comments"),
		"statuses_url": g.apiURL("statuses", "0000000000000000000000000000000000000000"),
		"number":       pr.Number, "state": pr.State, "locked": false, "title": pr.Title, "user": g.userJSON("bump-bot", 7),
		"body": pr.Body, "labels": labels, "milestone": nil, "active_lock_reason": nil,
		"created_at": ghTime, "updated_at": ghTime, "closed_at": closedAt, "merged_at": nil, "merge_commit_sha": nil,
		"assignee": assignee, "assignees": assignees, "requested_reviewers": users, "requested_teams": teams,
		"head": g.prBranchJSON(pr.Head), "base": g.prBranchJSON(pr.Base),
		"_links": map[string]any{
			"self": link(self), "html": link(g.htmlURL("pull", n)), "issue": link(g.apiURL("issues", n)),
			"comments": link(g.apiURL("issues", n, "comments")), "review_comments": link(self + "/comments"),
			"review_comment": link(g.apiURL("pulls", "comments{/number}")), "commits": link(self + "/commits"),
			"statuses": link(g.apiURL("statuses", "0000000000000000000000000000000000000000")),
		},
		"author_association": "CONTRIBUTOR", "auto_merge": autoMerge, "draft": pr.Draft,
	}
	if full {
		out["merged"] = false // bump never merges
		out["mergeable"] = nil
		out["rebaseable"] = nil
		out["mergeable_state"] = "unknown"
		out["merged_by"] = nil
		out["comments"] = len(pr.Comments)
		out["review_comments"] = 0
		out["maintainer_can_modify"] = false
		out["commits"] = 1
		out["additions"] = 1
		out["deletions"] = 1
		out["changed_files"] = 1
	}
	return out
}

func (g *GitHub) issueJSON(pr *GitHubPR) map[string]any {
	p := g.prJSON(pr, false)
	n := strconv.Itoa(pr.Number)
	return map[string]any{
		"id": p["id"], "node_id": pr.NodeID, "url": g.apiURL("issues", n), "repository_url": strings.TrimSuffix(g.apiURL(), "/"),
		"labels_url": g.apiURL("issues", n, "labels{/name}"), "comments_url": g.apiURL("issues", n, "comments"),
		"events_url": g.apiURL("issues", n, "events"), "html_url": g.htmlURL("pull", n), "number": pr.Number,
		"state": pr.State, "title": pr.Title, "body": pr.Body, "user": p["user"], "labels": p["labels"],
		"assignee": p["assignee"], "assignees": p["assignees"], "milestone": nil, "locked": false,
		"comments": len(pr.Comments), "closed_at": p["closed_at"], "created_at": ghTime, "updated_at": ghTime,
		"author_association": "CONTRIBUTOR",
		"pull_request":       map[string]any{"url": p["url"], "html_url": p["html_url"], "diff_url": p["diff_url"], "patch_url": p["patch_url"]},
	}
}

func (g *GitHub) commentJSON(pr *GitHubPR, id int64, body string) map[string]any {
	n := strconv.Itoa(pr.Number)
	return map[string]any{
		"id": id, "node_id": "IC_fake" + strconv.FormatInt(id, 10), "url": g.apiURL("issues", "comments", strconv.FormatInt(id, 10)),
		"html_url": g.htmlURL("pull", n) + "#issuecomment-" + strconv.FormatInt(id, 10), "body": body,
		"user": g.userJSON("bump-bot", 7), "created_at": ghTime, "updated_at": ghTime,
		"issue_url": g.apiURL("issues", n), "author_association": "CONTRIBUTOR",
	}
}

func (g *GitHub) refJSON(branch, sha string) map[string]any {
	return map[string]any{
		"ref": "refs/heads/" + branch, "node_id": "REF_fake" + branch, "url": g.apiURL("git", "refs", "heads", branch),
		"object": map[string]any{"type": "commit", "sha": sha, "url": g.apiURL("git", "commits", sha)},
	}
}

func (g *GitHub) installationJSON() map[string]any {
	id := strconv.FormatInt(g.opts.InstallationID, 10)
	return map[string]any{
		"id": g.opts.InstallationID, "account": g.userJSON(g.opts.Owner, 1), "repository_selection": "selected",
		"access_tokens_url": g.server.URL + "/app/installations/" + id + "/access_tokens",
		"repositories_url":  g.server.URL + "/installation/repositories", "html_url": g.server.URL + "/settings/installations/" + id,
		"app_id": g.opts.AppID, "app_slug": "bump", "target_id": 1, "target_type": "Organization",
		"permissions": map[string]any{"pull_requests": "write", "contents": "write"}, "events": []any{},
		"created_at": ghTime, "updated_at": ghTime, "single_file_name": nil, "suspended_by": nil, "suspended_at": nil,
	}
}
