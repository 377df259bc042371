// Package rsstest measures the peak memory of a piece of work by running it
// in a child process: the test binary re-executed to run one test, whose
// whole resident high-water mark is then the work's alone (a test process
// that served a repository or built a tree has its own peak).
//
// A test using it is two halves in one function:
//
//	func TestBig(t *testing.T) {
//		if rsstest.Child(t, limit) {
//			work(os.Getenv("X")) // the measured part
//			return
//		}
//		setUp(t)
//		peak := rsstest.Run(t, limit, "X=...")
//	}
//
// Under the race detector the child is the package's tests built without
// it. The child watches its own resident set and exits as soon as it passes
// the limit, so a regression fails the test instead of exhausting the
// machine.
package rsstest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const childEnv = "BUMP_RSSTEST_CHILD"

// Child reports whether this process is the child run of t. If it is, a
// watchdog ends the process (exit status 3) once its resident set passes
// limit bytes.
func Child(t *testing.T, limit int64) bool {
	if os.Getenv(childEnv) != t.Name() {
		return false
	}
	go watch(limit)
	return true
}

func watch(limit int64) {
	for {
		if rss := statusBytes("VmRSS:"); rss > limit {
			fmt.Fprintf(os.Stderr, "rsstest: resident set %d MiB, over the bound of %d MiB\n", rss>>20, limit>>20)
			os.Exit(3)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Run runs t again in a child process with env added to this process's
// environment, fails t unless it passes within limit bytes, and returns
// the child's peak resident set in bytes.
func Run(t *testing.T, limit int64, env ...string) int64 {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("peak resident set is measured on Linux")
	}
	if strings.Contains(t.Name(), "/") {
		t.Fatal("rsstest: run from a top-level test")
	}
	exe, err := childBinary(t)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(append(os.Environ(), childEnv+"="+t.Name()), env...)
	out, err := cmd.CombinedOutput()
	var peak int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		peak = ru.Maxrss << 10 // KiB on Linux
	}
	if err != nil {
		t.Fatalf("child run of %s: %v (peak resident set %d MiB)\n%s", t.Name(), err, peak>>20, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("child run of %s did not pass:\n%s", t.Name(), out)
	}
	if peak > limit {
		t.Fatalf("peak resident set %d MiB, over the bound of %d MiB", peak>>20, limit>>20)
	}
	return peak
}

// childBinary is this test binary, or under the race detector (which
// multiplies memory use) the same package's tests built without it.
func childBinary(t *testing.T) (string, error) {
	if !raceEnabled {
		return os.Executable()
	}
	exe := filepath.Join(t.TempDir(), "child.test")
	// A test runs in its package's directory.
	out, err := exec.Command("go", "test", "-c", "-o", exe, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build the child test binary without -race: %v\n%s", err, out)
	}
	return exe, nil
}

// statusBytes reads one "kB" field of /proc/self/status, in bytes.
func statusBytes(field string) int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
