package cli

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/bump-gitops/bump/internal/bump"
	"github.com/bump-gitops/bump/internal/forge"
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
		fmt.Fprintf(stdout, "::error title=bump::%s\n", escapeData(forge.OneLine(runErr.Error())))
	}
	if o == nil {
		return nil
	}
	for _, s := range o.Skipped {
		fmt.Fprintf(stdout, "::warning title=bump skipped::%s\n", escapeData(describeSkip(s)))
	}
	for _, w := range o.Warnings {
		fmt.Fprintf(stdout, "::warning title=bump::%s\n", escapeData(describeSkip(w)))
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

// writeDotenv writes the outcome for a GitLab CI dotenv report, which is
// also commonly sourced by a shell. GitLab's parser keeps everything after
// the first = (trimmed) and strips no quotes, so a quoted value would reach
// later jobs with its quotes; values are therefore written bare, and only
// values that GitLab and a POSIX shell read alike are written: letters,
// digits and _-./:@%+,= (the names, URLs and hashes bump produces). The
// changes, JSON, escape every other character inside their strings as
// \uXXXX, so no $, backquote, quote or space reaches either reader; a shell
// only drops JSON's own double quotes. Anything else is refused, not
// written.
func writeDotenv(path string, o *bump.Outcome) error {
	var b strings.Builder
	for _, kv := range outputs(o) {
		key, v := dotenvKeys[kv[0]], kv[1]
		extra := ""
		if kv[0] == "changes" {
			v, extra = inertJSON(v), `"[]{}\`
		}
		for _, r := range v {
			if !plainRune(r) && !strings.ContainsRune(extra, r) {
				return fmt.Errorf("write dotenv %s: %s is %q, which a shell would not read as GitLab does; not written", path, key, v)
			}
		}
		fmt.Fprintf(&b, "%s=%s\n", key, v)
	}
	if err := replaceFile(path, []byte(b.String())); err != nil {
		return fmt.Errorf("write dotenv %s: %w", path, err)
	}
	return nil
}

// plainRune reports whether r reads the same to GitLab's dotenv parser and
// to a POSIX shell, unquoted in an assignment.
func plainRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-./:@%+,=", r)
}

// inertJSON rewrites compact JSON so that inside its strings every rune
// that is not plain is a \uXXXX escape (the same JSON value): what is left
// is plain runes, the structural "[]{}:, and backslashes of escapes.
func inertJSON(js string) string {
	var b strings.Builder
	inString, escaped := false, false
	for _, r := range js {
		switch {
		case !inString:
			if r == '"' {
				inString = true
			}
			b.WriteRune(r)
		case escaped:
			escaped = false
			if r == 'u' { // an escape already: keep it
				b.WriteString(`\u`)
				continue
			}
			b.WriteString(jsonEscape(jsonShortEscapes[r]))
		case r == '\\':
			escaped = true
		case r == '"':
			inString = false
			b.WriteRune(r)
		case plainRune(r):
			b.WriteRune(r)
		default:
			b.WriteString(jsonEscape(r))
		}
	}
	return b.String()
}

// jsonShortEscapes maps the letter of JSON's two-character escapes to the rune.
var jsonShortEscapes = map[rune]rune{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// jsonEscape spells r as JSON \uXXXX escapes (a surrogate pair above U+FFFF).
func jsonEscape(r rune) string {
	if r > 0xffff {
		r1, r2 := utf16.EncodeRune(r)
		return fmt.Sprintf(`\u%04x\u%04x`, r1, r2)
	}
	return fmt.Sprintf(`\u%04x`, r)
}

// replaceFile writes a new file beside path and renames it over path, so a
// symbolic link planted at path is never written through; one found there
// is refused outright.
func replaceFile(path string, data []byte) error {
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSymlink != 0 {
		return errors.New("it is a symbolic link: not followed")
	} else if err == nil && !st.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".bump-dotenv-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
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
