package bump

import "github.com/bump-gitops/bump/internal/manifest"

// Outcome is what a run did, as plain data for the renderers in cli.
type Outcome struct {
	// Changed reports whether any file changed (or would change, on a dry run).
	Changed bool              `json:"changed"`
	Changes []manifest.Change `json:"changes"`
	Skipped []manifest.Skip   `json:"skipped,omitempty"`
	// Warnings are about rewritten files a reviewer should look at.
	Warnings []manifest.Skip `json:"warnings,omitempty"`
	// NotFound lists images no reference names: a typo, or a path that misses.
	NotFound []string `json:"not_found,omitempty"`
	// Diff is a unified diff of the changes; filled on dry runs only.
	Diff string `json:"-"`
	// DryRun is set when nothing was written, committed or pushed on purpose.
	DryRun bool `json:"dry_run,omitempty"`

	Commit      string       `json:"commit,omitempty"`
	Branch      string       `json:"branch,omitempty"`
	Base        string       `json:"base,omitempty"`
	Pushed      bool         `json:"pushed,omitempty"`
	PullRequest *PullRequest `json:"pull_request,omitempty"`
	// Note explains a run that deliberately did nothing (e.g. the branch already proposes a newer version).
	Note string `json:"note,omitempty"`
}

// PullRequest is the pull or merge request a run opened or updated.
type PullRequest struct {
	Number  int    `json:"number"`
	URL     string `json:"url"`
	Created bool   `json:"created"`
}
