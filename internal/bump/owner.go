package bump

import (
	"regexp"
	"strings"
)

// Trailer marks every commit bump makes, as the last line of its message
// (a git trailer, so `git log --format=%(trailers)` and
// `git interpret-trailers` read it). bump moves an existing head branch
// only when every commit on it since the base is marked so, or is in the
// format bump wrote before the trailer existed.
const Trailer = "Bumped-by: bump"

// legacyChange is one change line of the body bump has always written:
// "- file:line image from -> to".
var legacyChange = regexp.MustCompile(`^- \S.*:\d+ \S+ \S* -> \S+$`)

// ownCommit reports whether bump made the commit with this message: it
// carries the trailer, or it has the shape of the messages earlier
// versions wrote (a subject, a blank line, one line per change, then
// optionally the Source: and Pipeline: links), so that upgrading bump
// does not orphan the branches of open pull requests.
func ownCommit(message string) bool {
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(message, "\r\n", "\n"), "\n"), "\n")
	// A trailer counts only in the last paragraph, where git reads
	// trailers: a squash of bump's commit with someone's keeps the line in
	// the middle, and that commit is no longer bump's alone.
	for i := len(lines) - 1; i > 0 && strings.TrimSpace(lines[i]) != ""; i-- {
		if strings.TrimSpace(lines[i]) == Trailer {
			return true
		}
	}
	return legacyMessage(lines)
}

func legacyMessage(lines []string) bool {
	if len(lines) < 3 || strings.TrimSpace(lines[0]) == "" || lines[1] != "" {
		return false
	}
	i, changes := 2, 0
	for ; i < len(lines) && legacyChange.MatchString(lines[i]); i++ {
		changes++
	}
	if changes == 0 {
		return false
	}
	if i < len(lines) {
		if lines[i] != "" {
			return false
		}
		i++
	}
	for ; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "Source: ") && !strings.HasPrefix(lines[i], "Pipeline: ") {
			return false
		}
	}
	return true
}
