package bump

import (
	"encoding/json"

	"github.com/bump-gitops/bump/internal/manifest"
)

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

	Commit string `json:"commit,omitempty"`
	Branch string `json:"branch,omitempty"`
	Base   string `json:"base,omitempty"`
	// Pushed is set only when this run moved the branch. In JSON it is
	// present, true or false, whenever a branch is involved.
	Pushed bool `json:"pushed,omitempty"`
	// UpToDate is set when the branch already held this change at Commit,
	// so nothing was committed or pushed.
	UpToDate    bool         `json:"up_to_date,omitempty"`
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

// MarshalJSON writes "pushed": false for a run that had a branch but did
// not move it, so a script can tell "up to date" from "pushed" without
// knowing that an absent key means false.
func (o Outcome) MarshalJSON() ([]byte, error) {
	type plain Outcome
	v := struct {
		plain
		Pushed *bool `json:"pushed,omitempty"`
	}{plain: plain(o)}
	if o.Branch != "" {
		v.Pushed = &o.Pushed
	}
	return json.Marshal(v)
}
