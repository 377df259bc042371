// Package forge holds the value types and sentinel errors shared by the
// pull-request adapters (GitHub, GitLab) and the code that drives them.
// It knows nothing of any SDK: adapters translate to and from these types,
// so adding another forge never touches the core.
package forge

import (
	"errors"
	"time"
)

// Kind names a forge implementation.
type Kind string

const (
	GitHub Kind = "github"
	GitLab Kind = "gitlab"
	// Gitea covers Forgejo too (its API is a superset); "forgejo" parses to it.
	Gitea Kind = "gitea"
)

// Repo identifies a repository on a forge.
type Repo struct {
	// Host is the web host of the forge, e.g. "github.com".
	Host string
	// Path is the full project path: "owner/name" on GitHub,
	// "group/subgroup/name" on GitLab.
	Path string
}

// Owner is the first path segment (GitHub's owner; GitLab's top group).
func (r Repo) Owner() string {
	for i := 0; i < len(r.Path); i++ {
		if r.Path[i] == '/' {
			return r.Path[:i]
		}
	}
	return r.Path
}

// Name is the last path segment.
func (r Repo) Name() string {
	for i := len(r.Path) - 1; i >= 0; i-- {
		if r.Path[i] == '/' {
			return r.Path[i+1:]
		}
	}
	return r.Path
}

func (r Repo) String() string { return r.Host + "/" + r.Path }

// PullRequestSpec is what bump wants a pull (merge) request to look like.
type PullRequestSpec struct {
	Base  string // target branch
	Head  string // source branch
	Title string
	Body  string

	Labels    []string
	Reviewers []string // users; GitHub teams as "org/team"
	Assignees []string
	Draft     bool

	AutoMerge   bool
	MergeMethod string // "merge", "squash" or "rebase"; empty means the forge default

	// GitLab only.
	RemoveSourceBranch bool
	Squash             bool
}

// PullRequest is an open pull (merge) request as the forge reports it.
type PullRequest struct {
	Number int    // GitHub number, GitLab IID
	URL    string // web URL for people
	NodeID string // GitHub GraphQL node id; empty on GitLab
	Head   string
	Base   string
	Title  string
	Body   string
	Labels []string
	Draft  bool
}

// Sentinel errors. Adapters wrap them (fmt.Errorf("...: %w", forge.ErrNotFound))
// together with the forge's own message, so callers can branch with errors.Is
// and users still read what the forge said.
var (
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrNotFound     = errors.New("not found")
	ErrValidation   = errors.New("validation failed")
	ErrRateLimited  = errors.New("rate limited")
	ErrUnavailable  = errors.New("forge unavailable")
	ErrExists       = errors.New("already exists")
	// ErrConflict means a branch was not where the caller expected (the
	// lease failed): someone else moved it, and nothing was changed.
	ErrConflict = errors.New("the branch moved")
)

// RateLimitError carries when the forge says a retry may succeed.
type RateLimitError struct {
	RetryAfter time.Duration // zero when the forge gave no hint
	Message    string
}

func (e *RateLimitError) Error() string {
	if e.Message == "" {
		return ErrRateLimited.Error()
	}
	return "rate limited: " + e.Message
}

func (e *RateLimitError) Unwrap() error { return ErrRateLimited }
