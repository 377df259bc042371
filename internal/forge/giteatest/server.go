package giteatest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a running Gitea with one admin user and an API token.
type Server struct {
	URL      string // http://127.0.0.1:PORT, no trailing slash
	User     string // the admin's username
	Password string
	Token    string // the admin's access token, all scopes

	bin, config, work string
}

// Start builds (or reuses) Gitea, starts it on a free loopback port with a
// fresh sqlite database in a temp dir, creates the admin and its token, and
// stops it when t ends. It skips t when the Gitea tests are not enabled.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary(t)
	dir, err := CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{
		URL:      "http://127.0.0.1:" + strconv.Itoa(port),
		User:     "bumpadmin",
		Password: "pw-" + randomHex(8),
		bin:      bin,
		config:   filepath.Join(work, "app.ini"),
		work:     work,
	}
	if err := os.WriteFile(s.config, []byte(appIni(work, filepath.Join(dir, "src"), port)), 0o600); err != nil {
		t.Fatal(err)
	}
	// The database is set up before the server starts, so the admin and
	// its token exist by the time the API answers.
	s.run(t, "migrate")
	s.CreateUser(t, s.User, true)
	out := s.run(t, "admin", "user", "generate-access-token",
		"--username", s.User, "--token-name", "bump-test", "--scopes", "all", "--raw")
	// Running as root, Gitea logs a warning to standard output first: the
	// token is the last line.
	lines := strings.Fields(out)
	if len(lines) == 0 || !isHex(lines[len(lines)-1]) {
		t.Fatalf("gitea admin user generate-access-token printed no token: %q", tail(out, 500))
	}
	s.Token = lines[len(lines)-1]
	s.serve(t)
	return s
}

// serve starts `gitea web` and waits, bounded, until /api/v1/version answers.
func (s *Server) serve(t testing.TB) {
	t.Helper()
	logPath := filepath.Join(s.work, "web.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(s.bin, "--config", s.config, "--work-path", s.work, "web")
	cmd.Env = s.env()
	cmd.Dir = s.work
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start gitea: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logFile.Close() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("gitea exited before it answered: %v\n%s", err, readTail(logPath))
		default:
		}
		if s.ready() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gitea did not answer /api/v1/version within 90s\n%s", readTail(logPath))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *Server) ready() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/version", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// run runs one gitea command against this instance's config and returns
// its standard output.
func (s *Server) run(t testing.TB, args ...string) string {
	t.Helper()
	var out, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, append([]string{"--config", s.config, "--work-path", s.work}, args...)...)
	cmd.Env = s.env()
	cmd.Dir = s.work
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("gitea %s: %v\n%s\n%s", strings.Join(args, " "), err, tail(out.String(), 2000), tail(stderr.String(), 2000))
	}
	return out.String()
}

// env keeps Gitea and the git it runs away from the user's home.
func (s *Server) env() []string {
	home := filepath.Join(s.work, "home")
	_ = os.MkdirAll(home, 0o755)
	return append(os.Environ(), "HOME="+home, "GITEA_WORK_DIR="+s.work, "GIT_CONFIG_NOSYSTEM=1")
}

// CreateUser adds a user (an admin when admin is true) with s.Password.
func (s *Server) CreateUser(t testing.TB, name string, admin bool) {
	t.Helper()
	args := []string{"admin", "user", "create", "--username", name, "--password", s.Password,
		"--email", name + "@example.invalid", "--must-change-password=false"}
	if admin {
		args = append(args, "--admin")
	}
	s.run(t, args...)
}

// API sends one JSON request with the admin token and decodes the answer
// into out (when not nil); it returns the status and fails t on a
// transport error only.
func (s *Server) API(t testing.TB, method, path string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.URL+"/api/v1"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "token "+s.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode: %v: %s", method, path, err, tail(string(data), 500))
		}
	}
	return resp.StatusCode
}

// MustAPI is API that fails t on a status other than 2xx.
func (s *Server) MustAPI(t testing.TB, method, path string, body, out any) {
	t.Helper()
	if code := s.API(t, method, path, body, out); code/100 != 2 {
		t.Fatalf("%s %s: status %d", method, path, code)
	}
}

// CreateRepo creates owner/name under the admin with one commit on main,
// and returns its git URL with the admin's token in it.
func (s *Server) CreateRepo(t testing.TB, name string) string {
	t.Helper()
	s.MustAPI(t, http.MethodPost, "/user/repos", map[string]any{
		"name": name, "auto_init": true, "default_branch": "main", "readme": "Default",
	}, nil)
	return s.GitURL(name)
}

// CreateOrgRepo creates organisation org (when missing) and org/name in
// it with one commit on main.
func (s *Server) CreateOrgRepo(t testing.TB, org, name string) {
	t.Helper()
	if s.API(t, http.MethodGet, "/orgs/"+org, nil, nil) == http.StatusNotFound {
		s.MustAPI(t, http.MethodPost, "/orgs", map[string]any{"username": org}, nil)
	}
	s.MustAPI(t, http.MethodPost, "/orgs/"+org+"/repos", map[string]any{
		"name": name, "auto_init": true, "default_branch": "main", "readme": "Default",
	}, nil)
}

// CreateOrgLabel adds a label every repository of org can use.
func (s *Server) CreateOrgLabel(t testing.TB, org, name string) {
	t.Helper()
	s.MustAPI(t, http.MethodPost, "/orgs/"+org+"/labels", map[string]any{"name": name, "color": "#aabb00"}, nil)
}

// GitURL is the smart-HTTP URL of repository name (the admin's, or
// "owner/name"), with the token as the password.
func (s *Server) GitURL(name string) string {
	u, _ := url.Parse(s.URL)
	u.User = url.UserPassword(s.User, s.Token)
	if !strings.Contains(name, "/") {
		name = s.User + "/" + name
	}
	u.Path = "/" + name + ".git"
	return u.String()
}

// AddCollaborator creates user (when missing) and gives it write access.
func (s *Server) AddCollaborator(t testing.TB, repo, user string) {
	t.Helper()
	if s.API(t, http.MethodGet, "/users/"+user, nil, nil) == http.StatusNotFound {
		s.CreateUser(t, user, false)
	}
	s.MustAPI(t, http.MethodPut, "/repos/"+s.User+"/"+repo+"/collaborators/"+user, map[string]any{"permission": "write"}, nil)
}

// CreateLabel adds a label to the repository and returns its id.
func (s *Server) CreateLabel(t testing.TB, repo, name string) int64 {
	t.Helper()
	var l struct{ ID int64 }
	s.MustAPI(t, http.MethodPost, "/repos/"+s.User+"/"+repo+"/labels", map[string]any{"name": name, "color": "#00aabb"}, &l)
	return l.ID
}

// ProtectBranch protects branch: no direct pushes, and when contexts are
// given, those commit statuses must succeed before a merge.
func (s *Server) ProtectBranch(t testing.TB, repo, branch string, contexts ...string) {
	t.Helper()
	s.MustAPI(t, http.MethodPost, "/repos/"+s.User+"/"+repo+"/branch_protections", map[string]any{
		"rule_name": branch, "enable_push": false,
		"enable_status_check": len(contexts) > 0, "status_check_contexts": contexts,
	}, nil)
}

// SetStatus posts a commit status (pending, success, failure, …) on sha.
func (s *Server) SetStatus(t testing.TB, repo, sha, state string) {
	t.Helper()
	s.MustAPI(t, http.MethodPost, "/repos/"+s.User+"/"+repo+"/statuses/"+sha, map[string]any{"state": state, "context": "ci/test"}, nil)
}

func appIni(work, static string, port int) string {
	return fmt.Sprintf(`APP_NAME = bump test
RUN_MODE = prod
WORK_PATH = %[1]s
I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = %[3]d
ROOT_URL = http://127.0.0.1:%[3]d/
DOMAIN = 127.0.0.1
DISABLE_SSH = true
START_SSH_SERVER = false
OFFLINE_MODE = true
LFS_START_SERVER = false
STATIC_ROOT_PATH = %[2]s
APP_DATA_PATH = %[1]s/data

[database]
DB_TYPE = sqlite3
PATH = %[1]s/gitea.db
SQLITE_JOURNAL_MODE = WAL

[repository]
ROOT = %[1]s/repos

[security]
INSTALL_LOCK = true
SECRET_KEY = %[4]s
INTERNAL_TOKEN = %[5]s
PASSWORD_HASH_ALGO = pbkdf2_hi
MIN_PASSWORD_LENGTH = 6
PASSWORD_COMPLEXITY = off

[service]
DISABLE_REGISTRATION = true
ENABLE_NOTIFY_MAIL = false

[mailer]
ENABLED = false

[session]
PROVIDER = memory

[cache]
ADAPTER = memory

[indexer]
ISSUE_INDEXER_TYPE = db
REPO_INDEXER_ENABLED = false

[oauth2]
ENABLED = false

[actions]
ENABLED = false

[cron]
ENABLED = false

[cron.update_checker]
ENABLED = false

[log]
MODE = console
LEVEL = Warn
ROOT_PATH = %[1]s/log
`, work, static, port, randomHex(16), randomHex(32))
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && len(s) >= 32
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func readTail(path string) string {
	b, _ := os.ReadFile(path)
	return tail(string(b), 3000)
}
