package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/bump-gitops/bump/internal/bump"
	"github.com/bump-gitops/bump/internal/manifest"
)

// render writes the outcome to stdout (results) and stderr (warnings).
func render(stdout, stderr io.Writer, format string, o *bump.Outcome) error {
	for _, s := range o.Skipped {
		fmt.Fprintf(stderr, "warning: skipped %s\n", describeSkip(s))
	}
	for _, w := range o.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", describeSkip(w))
	}
	for _, img := range o.NotFound {
		fmt.Fprintf(stderr, "warning: %s\n", notFound(img))
	}
	if format == "json" {
		return renderJSON(stdout, o)
	}
	if o.DryRun && o.Diff != "" {
		io.WriteString(stdout, colorDiff(stdout, o.Diff))
	}
	for _, c := range o.Changes {
		fmt.Fprintf(stdout, "%s:%d  %s  %s → %s\n", c.File, c.Line, c.Image, c.From, c.To)
	}
	switch {
	case o.Note != "":
		fmt.Fprintln(stdout, o.Note)
	case !o.Changed && len(o.NotFound) > 0:
		fmt.Fprintln(stdout, "nothing to change")
	case !o.Changed:
		fmt.Fprintln(stdout, "up to date: nothing to change")
	case o.DryRun:
		fmt.Fprintln(stdout, "dry run: nothing written")
	}
	if o.Commit != "" {
		fmt.Fprintln(stdout, where(o))
	}
	if pr := o.PullRequest; pr != nil {
		verb := "updated"
		if pr.Created {
			verb = "opened"
		}
		fmt.Fprintf(stdout, "%s %s\n", verb, pr.URL)
	}
	return nil
}

// where says what became of the commit: only a branch that moved is
// reported as committed or pushed.
func where(o *bump.Outcome) string {
	switch {
	case o.UpToDate:
		return "up to date: " + o.Branch + " already holds this change at " + short(o.Commit)
	case o.Pushed:
		return "pushed " + short(o.Commit) + " to " + o.Branch
	default:
		return "committed " + short(o.Commit) + " on " + o.Branch
	}
}

func notFound(image string) string {
	return fmt.Sprintf("no reference to %s found: check the image name and --path", image)
}

func describeSkip(s manifest.Skip) string {
	loc := s.File
	if s.Line > 0 {
		loc = fmt.Sprintf("%s:%d", s.File, s.Line)
	}
	if s.Image != "" {
		return fmt.Sprintf("%s %s: %s", loc, s.Image, s.Reason)
	}
	return fmt.Sprintf("%s: %s", loc, s.Reason)
}

// renderJSON prints one object; changes is always an array, never null,
// so `jq '.changes | length'` works on an up-to-date run.
func renderJSON(w io.Writer, o *bump.Outcome) error {
	v := *o
	if v.Changes == nil {
		v.Changes = []manifest.Change{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}

// colorDiff colours a unified diff when w is a terminal and NO_COLOR is unset.
func colorDiff(w io.Writer, diff string) string {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || os.Getenv("NO_COLOR") != "" {
		return diff
	}
	var b strings.Builder
	for line := range strings.Lines(diff) {
		switch {
		case strings.HasPrefix(line, "+++"), strings.HasPrefix(line, "---"):
			b.WriteString("\x1b[1m" + strings.TrimRight(line, "\n") + "\x1b[0m\n")
		case strings.HasPrefix(line, "+"):
			b.WriteString("\x1b[32m" + strings.TrimRight(line, "\n") + "\x1b[0m\n")
		case strings.HasPrefix(line, "-"):
			b.WriteString("\x1b[31m" + strings.TrimRight(line, "\n") + "\x1b[0m\n")
		case strings.HasPrefix(line, "@@"):
			b.WriteString("\x1b[36m" + strings.TrimRight(line, "\n") + "\x1b[0m\n")
		default:
			b.WriteString(line)
		}
	}
	return b.String()
}
