package cli

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/bump-gitops/bump/internal/bump"
	"github.com/bump-gitops/bump/internal/manifest"
)

// githubActions writes the step's outputs to $GITHUB_OUTPUT, a summary to
// $GITHUB_STEP_SUMMARY and annotations to stdout, when running in GitHub
// Actions. o is nil when the run failed before it had an outcome.
func githubActions(getenv func(string) string, stdout io.Writer, o *bump.Outcome, runErr error) error {
	if getenv("GITHUB_ACTIONS") != "true" {
		return nil
	}
	if runErr != nil {
		fmt.Fprintf(stdout, "::error title=bump::%s\n", escapeData(oneLine(runErr.Error())))
	}
	if o == nil {
		return nil
	}
	for _, s := range o.Skipped {
		fmt.Fprintf(stdout, "::warning title=bump skipped::%s\n", escapeData(describeSkip(s)))
	}
	for _, img := range o.NotFound {
		fmt.Fprintf(stdout, "::warning title=bump found nothing::%s\n", escapeData(notFound(img)))
	}
	if path := getenv("GITHUB_OUTPUT"); path != "" {
		if err := appendFile(path, githubOutputs(o)); err != nil {
			return fmt.Errorf("write GITHUB_OUTPUT: %w", err)
		}
	}
	if path := getenv("GITHUB_STEP_SUMMARY"); path != "" {
		if err := appendFile(path, summary(o)); err != nil {
			return fmt.Errorf("write GITHUB_STEP_SUMMARY: %w", err)
		}
	}
	return nil
}

// outputs are the values both CI systems receive, in a stable order.
func outputs(o *bump.Outcome) [][2]string {
	changes := o.Changes
	if changes == nil {
		changes = []manifest.Change{}
	}
	js, _ := json.Marshal(changes)
	var number, url string
	if o.PullRequest != nil {
		number, url = strconv.Itoa(o.PullRequest.Number), o.PullRequest.URL
	}
	return [][2]string{
		{"changed", strconv.FormatBool(o.Changed)},
		{"branch", o.Branch},
		{"commit", o.Commit},
		{"pr-number", number},
		{"pr-url", url},
		{"changes", string(js)},
	}
}

// githubOutputs uses the heredoc form with a random delimiter, so no value
// can end its entry early and inject another output.
func githubOutputs(o *bump.Outcome) string {
	var b strings.Builder
	for _, kv := range outputs(o) {
		delim := "bump_" + randomHex()
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", kv[0], delim, kv[1], delim)
	}
	return b.String()
}

func randomHex() string {
	var p [12]byte
	_, _ = rand.Read(p[:])
	return hex.EncodeToString(p[:])
}

// summary is the Markdown shown on the workflow run's page.
func summary(o *bump.Outcome) string {
	var b strings.Builder
	b.WriteString("### bump\n\n")
	switch {
	case o.Note != "":
		b.WriteString(mdEscape(o.Note) + "\n")
	case !o.Changed:
		b.WriteString("Up to date: nothing to change.\n")
	}
	if len(o.Changes) > 0 {
		b.WriteString("| File | Image | From | To |\n| --- | --- | --- | --- |\n")
		for _, c := range o.Changes {
			fmt.Fprintf(&b, "| %s:%d | %s | %s | %s |\n", mdEscape(c.File), c.Line, mdEscape(c.Image), mdEscape(c.From), mdEscape(c.To))
		}
	}
	switch {
	case o.Branch != "" && o.Pushed:
		fmt.Fprintf(&b, "\nPushed `%s` to `%s`.\n", short(o.Commit), mdEscape(o.Branch))
	case o.Branch != "" && o.UpToDate:
		fmt.Fprintf(&b, "\nUp to date: `%s` already holds this change at `%s`; nothing pushed.\n", mdEscape(o.Branch), short(o.Commit))
	}
	if pr := o.PullRequest; pr != nil {
		verb := "Updated"
		if pr.Created {
			verb = "Opened"
		}
		fmt.Fprintf(&b, "\n%s pull request [#%d](%s).\n", verb, pr.Number, pr.URL)
	}
	return b.String() + "\n"
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "`", "\\`", "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

// escapeData escapes a workflow command's message as the runner expects.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// dotenvKeys name the outputs in a dotenv report. They avoid the names of
// bump's own BUMP_* flag variables: GitLab exports a dotenv report into
// later jobs, and BUMP_BRANCH or BUMP_COMMIT there would silently become
// --branch and --commit for a later bump.
var dotenvKeys = map[string]string{
	"changed":   "BUMP_CHANGED",
	"branch":    "BUMP_HEAD_BRANCH",
	"commit":    "BUMP_COMMIT_SHA",
	"pr-number": "BUMP_PR_NUMBER",
	"pr-url":    "BUMP_PR_URL",
	"changes":   "BUMP_CHANGES",
}

// writeDotenv writes the outcome for a GitLab CI dotenv report. Values are
// single-line by construction (JSON is compact, names never hold newlines).
func writeDotenv(path string, o *bump.Outcome) error {
	var b strings.Builder
	for _, kv := range outputs(o) {
		fmt.Fprintf(&b, "%s=%s\n", dotenvKeys[kv[0]], strings.NewReplacer("\n", " ", "\r", " ").Replace(kv[1]))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write dotenv %s: %w", path, err)
	}
	return nil
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
