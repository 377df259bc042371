// Package gittest serves real bare repositories over git's smart HTTP
// protocol, with the system `git http-backend` behind an httptest server,
// so tests exercise clone, fetch, push, auth and push rejection exactly as
// a forge's git endpoint would. Faults (5xx, dropped connections, slow
// answers) can be injected per request, and helpers read the bare
// repositories' state with the system git for assertions. It is for tests
// only; git runs with no user or system configuration of the machine.
package gittest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Server is a git smart-HTTP server over a directory of bare repositories.
type Server struct {
	URL      string
	User     string
	Password string

	root     string
	requests atomic.Int64
	mu       sync.Mutex
	fault    Fault
	check    func(user, password string) bool
	wrap     []func(http.Handler) http.Handler
}

// Fault runs before the git backend on every authenticated request; when
// it returns true it has answered the request itself.
type Fault func(w http.ResponseWriter, r *http.Request) bool

// Option configures a Server.
type Option func(*Server)

// WithCredentials sets the user and password the server accepts.
func WithCredentials(user, password string) Option {
	return func(s *Server) { s.User, s.Password = user, password }
}

// WithTokenCheck makes the server accept any basic-auth password for
// which valid returns true (for tokens minted during the test).
func WithTokenCheck(valid func(user, password string) bool) Option {
	return func(s *Server) { s.check = valid }
}

// WithMiddleware wraps the whole server (authentication included), for
// tests that need to see or shape every request. The first one given is
// the outermost.
func WithMiddleware(m func(http.Handler) http.Handler) Option {
	return func(s *Server) { s.wrap = append(s.wrap, m) }
}

// NewServer starts a server that requires basic auth (default user
// "x-access-token", password "test-token") and accepts pushes.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{User: "x-access-token", Password: "test-token", root: t.TempDir()}
	for _, o := range opts {
		o(s)
	}
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("git --exec-path: %v", err)
	}
	backend := &cgi.Handler{
		// The backend reports lost push races on stderr; they are expected.
		Stderr: io.Discard,
		Path:   filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Env: append(Env(t.TempDir()),
			"GIT_PROJECT_ROOT="+s.root,
			"GIT_HTTP_EXPORT_ALL=1",
		),
	}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		user, pass, ok := r.BasicAuth()
		valid := ok && user == s.User && pass == s.Password
		if ok && !valid && s.check != nil {
			valid = s.check(user, pass)
		}
		if !valid {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		s.mu.Lock()
		fault := s.fault
		s.mu.Unlock()
		if fault != nil && fault(w, r) {
			return
		}
		// git http-backend refuses receive-pack without an authenticated user.
		r.Header.Set("Remote-User", user)
		h := *backend
		h.Env = append(append([]string(nil), backend.Env...), "REMOTE_USER="+user)
		h.ServeHTTP(w, r)
	})
	for i := len(s.wrap) - 1; i >= 0; i-- {
		h = s.wrap[i](h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Env is an environment for running git in tests: no user or system
// config from the machine, a fixed identity.
func Env(home string) []string {
	env := []string{
		"HOME=" + home,
		"PATH=" + os.Getenv("PATH"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
		"GIT_TERMINAL_PROMPT=0",
	}
	// Under `go test -cover`, a test binary run as a child writes its
	// coverage there; without it, it warns on stderr.
	if dir, ok := os.LookupEnv("GOCOVERDIR"); ok {
		env = append(env, "GOCOVERDIR="+dir)
	}
	return env
}

// Requests counts the HTTP requests served so far.
func (s *Server) Requests() int64 { return s.requests.Load() }

// SetFault installs a hook that runs before the git backend; when it
// returns true it has answered the request itself (a 500, a dropped
// connection, a delay…). nil removes it.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	s.fault = f
	s.mu.Unlock()
}

// CreateRepo makes a bare repository "<name>.git" whose main branch holds
// one commit with files, and returns its clone URL (without credentials).
func (s *Server) CreateRepo(t testing.TB, name string, files map[string]string) string {
	t.Helper()
	dir := s.RepoDir(name)
	Git(t, "", "init", "-q", "--bare", "-b", "main", dir)
	Git(t, dir, "config", "http.receivepack", "true")
	work := t.TempDir()
	Git(t, work, "init", "-q", "-b", "main")
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(work, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(files[n]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	Git(t, work, "add", "-A")
	Git(t, work, "commit", "-q", "--allow-empty", "-m", "initial")
	Git(t, work, "push", "-q", dir, "main")
	return s.RepoURL(name)
}

// CreateRepoFromDir makes a bare repository "<name>.git" whose main branch
// holds one commit with the files of dir, for large generated trees.
func (s *Server) CreateRepoFromDir(t testing.TB, name, dir string) string {
	t.Helper()
	bare := s.RepoDir(name)
	Git(t, "", "init", "-q", "--bare", "-b", "main", bare)
	Git(t, bare, "config", "http.receivepack", "true")
	Git(t, dir, "init", "-q", "-b", "main")
	Git(t, dir, "add", "-A")
	Git(t, dir, "commit", "-q", "-m", "initial")
	Git(t, dir, "push", "-q", bare, "main")
	return s.RepoURL(name)
}

// RepoURL is the clone URL of a repository.
func (s *Server) RepoURL(name string) string { return s.URL + "/" + name + ".git" }

// RepoDir is the bare repository's directory.
func (s *Server) RepoDir(name string) string { return filepath.Join(s.root, name+".git") }

// Git runs git in dir (a bare or work repository; "" for none) and returns
// its trimmed output, failing the test on error.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := RunGit(dir, nil, args...)
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// RunGit runs git and returns its trimmed stdout, or an error with stderr.
func RunGit(dir string, stdin []byte, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	if dir != "" {
		cmd.Dir = dir
	}
	cmd.Env = Env(os.TempDir())
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", &gitError{args: args, err: err, stderr: strings.TrimSpace(stderr.String())}
	}
	return strings.TrimSpace(stdout.String()), nil
}

type gitError struct {
	args   []string
	err    error
	stderr string
}

func (e *gitError) Error() string { return e.err.Error() + ": " + e.stderr }

// Commit adds a commit to branch of the bare repository with the given
// file contents, as another pipeline or a person would, and returns it.
func (s *Server) Commit(t testing.TB, name, branch string, files map[string]string, message string) string {
	t.Helper()
	dir := s.RepoDir(name)
	work := t.TempDir()
	Git(t, "", "clone", "-q", "-b", branch, dir, work)
	for n, c := range files {
		p := filepath.Join(work, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	Git(t, work, "add", "-A")
	Git(t, work, "commit", "-q", "-m", message)
	Git(t, work, "push", "-q", "origin", branch)
	return Git(t, work, "rev-parse", "HEAD")
}

// Head returns the commit a branch points at, or "" when it does not exist.
func (s *Server) Head(name, branch string) string {
	out, err := RunGit(s.RepoDir(name), nil, "rev-parse", "--verify", "-q", "refs/heads/"+branch)
	if err != nil {
		return ""
	}
	return out
}

// File returns a file's content at a revision of the bare repository.
func (s *Server) File(t testing.TB, name, rev, path string) string {
	t.Helper()
	cmd := exec.Command("git", "cat-file", "blob", rev+":"+path)
	cmd.Dir, cmd.Env = s.RepoDir(name), Env(os.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("show %s:%s: %v", rev, path, err)
	}
	return string(out)
}

// SetHead points the bare repository's HEAD (its default branch) at
// branch, which need not exist: an unborn HEAD is not advertised at all.
func (s *Server) SetHead(t testing.TB, name, branch string) {
	t.Helper()
	Git(t, s.RepoDir(name), "symbolic-ref", "HEAD", "refs/heads/"+branch)
}

// Branch creates or moves branch in the bare repository to rev.
func (s *Server) Branch(t testing.TB, name, branch, rev string) {
	t.Helper()
	Git(t, s.RepoDir(name), "update-ref", "refs/heads/"+branch, rev)
}

// CommitCount counts the commits reachable from rev (e.g. "main..bump/x").
func (s *Server) CommitCount(t testing.TB, name, rev string) int {
	t.Helper()
	out := Git(t, s.RepoDir(name), "rev-list", "--count", rev)
	n, err := strconv.Atoi(out)
	if err != nil {
		t.Fatalf("rev-list --count %s: %q", rev, out)
	}
	return n
}

// Message returns the full message of the commit at rev.
func (s *Server) Message(t testing.TB, name, rev string) string {
	t.Helper()
	return Git(t, s.RepoDir(name), "log", "-1", "--format=%B", rev)
}

// Author returns "Name <email>" of the author and of the committer of rev.
func (s *Server) Author(t testing.TB, name, rev string) (author, committer string) {
	t.Helper()
	out := Git(t, s.RepoDir(name), "log", "-1", "--format=%an <%ae>%n%cn <%ce>", rev)
	author, committer, _ = strings.Cut(out, "\n")
	return author, committer
}

// Changed lists the paths that differ between two revisions, sorted.
func (s *Server) Changed(t testing.TB, name, from, to string) []string {
	t.Helper()
	out := Git(t, s.RepoDir(name), "diff", "--name-only", "--no-renames", from, to)
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// Files lists every file path in the tree at rev, sorted.
func (s *Server) Files(t testing.TB, name, rev string) []string {
	t.Helper()
	out := Git(t, s.RepoDir(name), "ls-tree", "-r", "--name-only", rev)
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// CreateGeneratedRepo makes a bare repository "<name>.git" whose main
// branch holds one commit with n files, file(i) giving the i-th path and
// content. It streams them through `git fast-import`, which writes one
// pack and no work tree, so 20,000 files take about a second.
func (s *Server) CreateGeneratedRepo(t testing.TB, name string, n int, file func(i int) (path string, content []byte)) string {
	t.Helper()
	dir := s.RepoDir(name)
	Git(t, "", "init", "-q", "--bare", "-b", "main", dir)
	Git(t, dir, "config", "http.receivepack", "true")
	var stream bytes.Buffer
	stream.WriteString("commit refs/heads/main\ncommitter Test <test@example.com> 1700000000 +0000\ndata 8\ninitial\n")
	for i := range n {
		p, c := file(i)
		fmt.Fprintf(&stream, "M 100644 inline %s\ndata %d\n", p, len(c))
		stream.Write(c)
		stream.WriteByte('\n')
	}
	stream.WriteString("\n")
	if out, err := RunGit(dir, stream.Bytes(), "fast-import", "--quiet"); err != nil {
		t.Fatalf("fast-import: %v %s", err, out)
	}
	return s.RepoURL(name)
}
