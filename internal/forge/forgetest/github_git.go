package forgetest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// BareRepo is a bare git repository on disk, driven with the system git's
// plumbing, that backs the GitHub fake's ref endpoints and
// createCommitOnBranch. It implements Git and GitRefs.
type BareRepo struct {
	Dir string
}

// NewBareRepo creates a bare repository in a test temp dir whose branch
// holds one commit with files.
func NewBareRepo(t testing.TB, branch string, files map[string][]byte) *BareRepo {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo.git")
	if out, err := exec.Command("git", "init", "--quiet", "--bare", "--initial-branch="+branch, dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v: %s", err, out)
	}
	repo := &BareRepo{Dir: dir}
	if _, err := repo.commit(branch, "", files, "initial commit", ""); err != nil {
		t.Fatal(err)
	}
	return repo
}

func (b *BareRepo) git(env []string, stdin []byte, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = b.Dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_AUTHOR_NAME=bump-bot", "GIT_AUTHOR_EMAIL=bump-bot@example.invalid",
		"GIT_COMMITTER_NAME=GitHub", "GIT_COMMITTER_EMAIL=noreply@example.invalid")
	cmd.Env = append(cmd.Env, env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// Head implements Git.
func (b *BareRepo) Head(branch string) (string, bool) {
	sha, err := b.git(nil, nil, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch+"^{commit}")
	return sha, err == nil && sha != ""
}

// CommitFiles implements Git.
func (b *BareRepo) CommitFiles(branch, expectedHead string, files map[string][]byte, headline, body string) (string, error) {
	if expectedHead == "" {
		return "", fmt.Errorf("commit on %s: expected head is required", branch)
	}
	return b.commit(branch, expectedHead, files, headline, body)
}

// commit builds a tree from parent's plus files in a throw-away index, and
// moves branch from parent to the new commit atomically (update-ref with the
// old value), as GitHub does for expectedHeadOid.
func (b *BareRepo) commit(branch, parent string, files map[string][]byte, headline, body string) (string, error) {
	index, err := os.CreateTemp("", "forgetest-index-*")
	if err != nil {
		return "", err
	}
	index.Close()
	os.Remove(index.Name()) // git wants to create it itself
	defer os.Remove(index.Name())
	env := []string{"GIT_INDEX_FILE=" + index.Name()}
	if parent != "" {
		if _, err := b.git(env, nil, "read-tree", parent); err != nil {
			return "", err
		}
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		if files[p] == nil {
			// Mode 0 removes the entry; --force-remove would want a work tree.
			line := "0 " + strings.Repeat("0", 40) + "\t" + p + "\n"
			if _, err := b.git(env, []byte(line), "update-index", "--index-info"); err != nil {
				return "", err
			}
			continue
		}
		blob, err := b.git(nil, files[p], "hash-object", "-w", "--stdin")
		if err != nil {
			return "", err
		}
		if _, err := b.git(env, nil, "update-index", "--add", "--cacheinfo", "100644,"+blob+","+p); err != nil {
			return "", err
		}
	}
	tree, err := b.git(env, nil, "write-tree")
	if err != nil {
		return "", err
	}
	msg := headline
	if body != "" {
		msg += "\n\n" + body
	}
	args := []string{"commit-tree", tree}
	if parent != "" {
		args = append(args, "-p", parent)
	}
	sha, err := b.git(nil, []byte(msg+"\n"), args...)
	if err != nil {
		return "", err
	}
	old := parent
	if old == "" {
		old = strings.Repeat("0", 40) // the branch must not exist yet
	}
	if _, err := b.git(nil, nil, "update-ref", "refs/heads/"+branch, sha, old); err != nil {
		return "", fmt.Errorf("move %s: %w", branch, err)
	}
	return sha, nil
}

// SetBranch implements GitRefs.
func (b *BareRepo) SetBranch(branch, sha, old string) error {
	if _, err := b.git(nil, nil, "cat-file", "-e", sha+"^{commit}"); err != nil {
		return fmt.Errorf("object %s does not exist", sha)
	}
	args := []string{"update-ref", "refs/heads/" + branch, sha}
	if old != "" {
		args = append(args, old)
	}
	_, err := b.git(nil, nil, args...)
	return err
}

// IsAncestor reports whether old is an ancestor of sha (a fast-forward).
func (b *BareRepo) IsAncestor(old, sha string) bool {
	_, err := b.git(nil, nil, "merge-base", "--is-ancestor", old, sha)
	return err == nil
}

// File returns the content of path at rev, for assertions.
func (b *BareRepo) File(rev, path string) ([]byte, error) {
	cmd := exec.Command("git", "cat-file", "blob", rev+":"+path)
	cmd.Dir = b.Dir
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", path, rev, err)
	}
	return out, nil
}

// Message returns the full commit message of rev.
func (b *BareRepo) Message(rev string) (string, error) {
	return b.git(nil, nil, "log", "-1", "--format=%B", rev)
}
