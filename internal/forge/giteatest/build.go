// Package giteatest builds a real Gitea from its Go module, starts it on
// loopback with a throw-away sqlite database, and gives tests an admin
// token, so the Gitea adapter is tested against the server itself rather
// than a fake.
//
// The first build takes several minutes, so the tests are gated: they run
// when BUMP_GITEA_TESTS=1 (building Gitea when needed) or when a binary for
// Version is already cached, and skip with a message naming the variable
// otherwise. BUMP_GITEA_TESTS=0 skips them even with a cached binary.
// .ci/gitea.sh builds the binary and .ci/run sets the variable.
package giteatest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Version is the Gitea release built and tested against. It builds with
// Go 1.26 (its go.mod asks for go 1.26.2).
const Version = "v1.26.0"

// EnvVar gates the tests: "1" builds Gitea when no cached binary exists,
// "0" skips even when one does.
const EnvVar = "BUMP_GITEA_TESTS"

// CacheDir is where Version's source copy and binary live: outside any
// checkout, keyed by version, so every worktree and CI run shares one build.
// BUMP_GITEA_CACHE overrides the parent directory.
func CacheDir() (string, error) {
	parent := os.Getenv("BUMP_GITEA_CACHE")
	if parent == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("gitea cache dir: %w", err)
		}
		parent = filepath.Join(c, "bump-ci")
	}
	return filepath.Join(parent, "gitea-"+Version), nil
}

// Binary returns the path of the cached Gitea binary, building it first
// when EnvVar is "1", and skips t when the tests are not enabled.
func Binary(t testing.TB) string {
	t.Helper()
	if os.Getenv(EnvVar) == "0" {
		t.Skipf("Gitea tests skipped: %s=0", EnvVar)
	}
	dir, err := CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "gitea")
	if isFile(bin) {
		return bin
	}
	if os.Getenv(EnvVar) != "1" {
		t.Skipf("Gitea tests skipped: no Gitea %s built in %s; set %s=1 to build it (about 5 minutes the first time) or run .ci/gitea.sh", Version, dir, EnvVar)
	}
	if err := Build(dir, io.Discard); err != nil {
		t.Fatalf("build gitea %s: %v", Version, err)
	}
	return bin
}

// Build downloads Version's module, copies it to dir/src (the module cache
// is read-only, and Gitea reads templates/ and options/ from there at run
// time) and builds dir/gitea with sqlite. A lock file serialises parallel
// test binaries; the binary is renamed into place only when complete.
func Build(dir string, log io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	unlock, err := lockFile(filepath.Join(dir, ".lock"))
	if err != nil {
		return fmt.Errorf("lock %s: %w", dir, err)
	}
	defer unlock()
	bin := filepath.Join(dir, "gitea")
	if isFile(bin) {
		return nil
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return err
	}
	modDir, err := download(gobin)
	if err != nil {
		return err
	}
	src := filepath.Join(dir, "src")
	if err := os.RemoveAll(src); err != nil {
		return err
	}
	tmp := filepath.Join(dir, "src.tmp")
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := copyTree(modDir, tmp); err != nil {
		return fmt.Errorf("copy %s: %w", modDir, err)
	}
	if err := os.Rename(tmp, src); err != nil {
		return err
	}
	// The version is stamped as Gitea's Makefile does, so /api/v1/version
	// answers it (clients that check versions see a real release).
	cmd := exec.Command(gobin, "build", "-tags", "sqlite sqlite_unlock_notify",
		"-ldflags", "-X main.Version="+strings.TrimPrefix(Version, "v"), "-o", bin+".tmp", ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOFLAGS=-mod=mod")
	cmd.Stdout, cmd.Stderr = log, log
	var stderr bytes.Buffer
	if log == io.Discard {
		cmd.Stderr = &stderr
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build: %w: %s", err, tail(stderr.String(), 2000))
	}
	return os.Rename(bin+".tmp", bin)
}

// download runs go mod download -json and returns the module's directory.
func download(gobin string) (string, error) {
	var out, stderr bytes.Buffer
	cmd := exec.Command(gobin, "mod", "download", "-json", "code.gitea.io/gitea@"+Version)
	cmd.Dir = os.TempDir() // outside any module
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go mod download: %w: %s %s", err, tail(out.String(), 1000), tail(stderr.String(), 1000))
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		return "", fmt.Errorf("go mod download: %w", err)
	}
	if m.Error != "" || m.Dir == "" {
		return "", fmt.Errorf("go mod download: %s", m.Error)
	}
	return m.Dir, nil
}

// copyTree copies regular files and directories, writable by the owner.
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}
