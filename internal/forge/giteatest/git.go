package giteatest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// PushBranch clones repo (the admin's, or "owner/name"), commits file with content on
// a new branch from main and pushes it; it returns the commit's hash.
func (s *Server) PushBranch(t testing.TB, repo, branch, file, content string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "clone")
	Git(t, "", "clone", "-q", s.GitURL(repo), dir)
	Git(t, dir, "checkout", "-q", "-b", branch, "origin/main")
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	Git(t, dir, "add", file)
	Git(t, dir, "-c", "user.name=bump test", "-c", "user.email=test@example.invalid", "commit", "-qm", "change "+file)
	Git(t, dir, "push", "-q", "origin", "HEAD:refs/heads/"+branch)
	return strings.TrimSpace(Git(t, dir, "rev-parse", "HEAD"))
}

// Git runs git in dir (bounded) and returns its output; it fails t on error.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
