package main

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bump-gitops/bump/internal/gitrepo/gittest"
)

// Signal tests stay in Go: the signal must arrive while the server holds a
// request, which a script cannot time.

// A signal mid-run (CI cancelling the job, a person pressing Ctrl-C)
// stops bump promptly with one line and exit 1, leaves no branch behind
// and nothing in the temporary directory: the clone lives in memory.
func TestSignalMidRun(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sig    syscall.Signal
		stall  func(*http.Request) bool
		phrase string
	}{
		{"SIGTERM during the push", syscall.SIGTERM, gittest.IsPush, "terminated signal received"},
		{"SIGINT during the clone", syscall.SIGINT, gittest.IsFetch, "interrupt signal received"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			stalled, release := make(chan struct{}, 1), make(chan struct{})
			e.git.SetFault(gittest.When(tc.stall, func(w http.ResponseWriter, r *http.Request) bool {
				select {
				case stalled <- struct{}{}:
				default:
				}
				// Hold the request until bump has exited (a half-read body
				// hides the closed connection from the server), bounded so
				// a bump that ignores the signal fails the test, not hangs it.
				select {
				case <-release:
				case <-r.Context().Done():
				case <-time.After(20 * time.Second):
				}
				return true
			}))

			tmp := t.TempDir()
			cmd := exec.Command(filepath.Join(e.binDir, "bump"), "--repo", e.repo, "--image", "ghcr.io/acme/api:v1.2.3")
			cmd.Env = append(append([]string(nil), e.vars...), "TMPDIR="+tmp)
			cmd.Dir = t.TempDir()
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-stalled:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("bump never reached the stalled request\n%s", stderr.String())
			}
			sent := time.Now()
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			close(release)
			if d := time.Since(sent); d > 5*time.Second {
				t.Errorf("bump took %v to stop after the signal", d)
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Errorf("exit: %v, want code 1", err)
			}
			msg := stderr.String()
			if !strings.Contains(msg, tc.phrase) || strings.Count(strings.TrimSpace(msg), "\n") != 0 {
				t.Errorf("stderr, want one line naming the signal:\n%s", msg)
			}
			if strings.Contains(stdout.String()+msg, canary) {
				t.Error("the token leaked into the output")
			}
			if h := e.git.Head(e.name, "bump/api"); h != "" {
				t.Errorf("a branch was left behind at %s", h)
			}
			left, err := os.ReadDir(tmp)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range left {
				t.Errorf("left in TMPDIR: %s", f.Name())
			}

			// A re-run completes.
			e.git.SetFault(nil)
			e.ok(e.bump("--image", "ghcr.io/acme/api:v1.2.3"))
			if e.git.Head(e.name, "bump/api") == "" {
				t.Error("the re-run pushed no branch")
			}
		})
	}
}

// SIGINT mid-run stops bump promptly with one line and leaves nothing
// behind: the clone is in memory, so its temporary directory stays empty.
func TestInterrupt(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{}, 1)
	e.git.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		select {
		case started <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return true
	})
	tmp := t.TempDir()
	cmd := exec.Command(filepath.Join(e.binDir, "bump"), "--repo", e.repo, "--image", "ghcr.io/acme/api:v1.2.3")
	cmd.Env = append(append([]string(nil), e.vars...), "TMPDIR="+tmp)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("bump never reached the server")
	}
	begin := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if err == nil {
		t.Fatal("exit 0 after SIGINT")
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("took %v to stop", d)
	}
	if lines := strings.Split(strings.TrimSpace(stderr.String()), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "interrupt") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left behind in TMPDIR: %v", left)
	}
	if e.git.Head(e.name, "bump/api") != "" {
		t.Error("an interrupted run pushed")
	}
}
