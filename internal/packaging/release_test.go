package packaging

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// root is the module root.
const root = "../.."

// release is a set of release assets, by name, for one tag.
type release struct {
	tag    string
	assets map[string][]byte
}

// hostAsset is the archive install.sh picks on this machine.
func (r release) hostAsset() string {
	return fmt.Sprintf("bump_%s_%s_%s.tar.gz", strings.TrimPrefix(r.tag, "v"), runtime.GOOS, runtime.GOARCH)
}

// snapshotRelease is the release to install: goreleaser's snapshot in
// $BUMP_SNAPSHOT_DIST when .ci/run made one, else an archive of the same
// layout, built here for this machine only.
func snapshotRelease(t *testing.T) release {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a release")
	}
	if dist := os.Getenv("BUMP_SNAPSHOT_DIST"); dist != "" {
		return distRelease(t, dist)
	}
	tag := "v0.0.1-test"
	exe, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	r := release{tag: tag, assets: map[string][]byte{}}
	r.assets[r.hostAsset()] = tarGz(t, map[string][]byte{"README.md": []byte("bump\n"), "bump": exe})
	var sums strings.Builder
	for name, data := range r.assets {
		sum := sha256.Sum256(data)
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), name)
	}
	r.assets["bump_0.0.1-test_checksums.txt"] = []byte(sums.String())
	return r
}

// buildOnce builds bump once for every test of the package that needs it.
var buildOnce = sync.OnceValues(func() ([]byte, error) { return build("v0.0.1-test") })

func build(tag string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "bump-packaging")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bump")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags",
		"-X github.com/bump-gitops/bump/internal/cli.version="+tag, "-o", bin, "./cmd/bump")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %w\n%s", err, out)
	}
	return os.ReadFile(bin)
}

// distRelease reads a goreleaser dist directory: its checksums file names
// the version and every archive.
func distRelease(t *testing.T, dist string) release {
	t.Helper()
	sums, err := filepath.Glob(filepath.Join(dist, "bump_*_checksums.txt"))
	if err != nil || len(sums) != 1 {
		t.Fatalf("%s: want one checksums file, got %v (%v)", dist, sums, err)
	}
	version := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(sums[0]), "bump_"), "_checksums.txt")
	r := release{tag: "v" + version, assets: map[string][]byte{}}
	data, err := os.ReadFile(sums[0])
	if err != nil {
		t.Fatal(err)
	}
	r.assets[filepath.Base(sums[0])] = data
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			t.Fatalf("checksums line %q", line)
		}
		body, err := os.ReadFile(filepath.Join(dist, f[1]))
		if err != nil {
			t.Fatal(err)
		}
		r.assets[f[1]] = body
	}
	return r
}

func tarGz(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(body)), ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// serve publishes the release on loopback as GitHub does: /<tag>/<asset>.
// It counts requests so a test can show none were made.
func serve(t *testing.T, r release) (string, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		hits.Add(1)
		tag, name, ok := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
		body, found := r.assets[name]
		if !ok || tag != r.tag || !found {
			http.NotFound(w, req)
			return
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &hits
}

type installResult struct {
	err    error
	stderr string
	dir    string
	took   time.Duration
}

// install runs scripts/install.sh as the Action does, with a clean
// environment: only PATH, HOME and the variables given.
func install(t *testing.T, env map[string]string) installResult {
	t.Helper()
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "bin")
	script, err := filepath.Abs(filepath.Join(root, "scripts", "install.sh"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", script)
	cmd.Dir = tmp
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp, "BUMP_INSTALL_DIR=" + dir,
		"RUNNER_OS=" + runnerOS(), "RUNNER_ARCH=" + runnerArch()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err = cmd.Run()
	return installResult{err: err, stderr: stderr.String(), dir: dir, took: time.Since(start)}
}

func runnerOS() string {
	return map[string]string{"linux": "Linux", "darwin": "macOS", "windows": "Windows"}[runtime.GOOS]
}

func runnerArch() string {
	return map[string]string{"amd64": "X64", "arm64": "ARM64"}[runtime.GOARCH]
}

// failed checks the one-line error and that no bump was left behind.
func (res installResult) failed(t *testing.T, want string) {
	t.Helper()
	if res.err == nil {
		t.Fatalf("install succeeded, want an error containing %q", want)
	}
	msg := strings.TrimSuffix(res.stderr, "\n")
	if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "bump install: ") || !strings.Contains(msg, want) {
		t.Errorf("stderr = %q, want one line with %q", res.stderr, want)
	}
	entries, _ := os.ReadDir(res.dir)
	for _, e := range entries {
		t.Errorf("left %s in the install directory", e.Name())
	}
}

func TestInstallRelease(t *testing.T) {
	r := snapshotRelease(t)
	url, _ := serve(t, r)
	res := install(t, map[string]string{"BUMP_VERSION": r.tag, "BUMP_RELEASE_URL": url})
	if res.err != nil {
		t.Fatalf("install: %v\n%s", res.err, res.stderr)
	}
	bin := filepath.Join(res.dir, "bump")
	st, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&0o111 == 0 {
		t.Errorf("bump is not executable: %v", st.Mode())
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("bump --version: %v", err)
	}
	if !strings.HasPrefix(string(out), "bump "+r.tag+" ") {
		t.Errorf("--version = %q, want bump %s", out, r.tag)
	}
	entries, _ := os.ReadDir(res.dir)
	if len(entries) != 1 {
		t.Errorf("install directory holds %d entries, want only bump", len(entries))
	}
	t.Logf("install over loopback took %v", res.took)
}

func TestInstallTamperedArchive(t *testing.T) {
	r := snapshotRelease(t)
	tampered := release{tag: r.tag, assets: map[string][]byte{}}
	for k, v := range r.assets {
		tampered.assets[k] = v
	}
	body := bytes.Clone(r.assets[r.hostAsset()])
	body[len(body)/2] ^= 0xff
	tampered.assets[r.hostAsset()] = body
	url, _ := serve(t, tampered)
	install(t, map[string]string{"BUMP_VERSION": r.tag, "BUMP_RELEASE_URL": url}).failed(t, "checksum mismatch for "+r.hostAsset())
}

func TestInstallTamperedChecksums(t *testing.T) {
	r := snapshotRelease(t)
	tampered := release{tag: r.tag, assets: map[string][]byte{}}
	for k, v := range r.assets {
		if strings.HasSuffix(k, "_checksums.txt") {
			v = bytes.Replace(v, []byte(r.hostAsset()), []byte("other"+r.hostAsset()), 1)
			sum := sha256.Sum256([]byte("not the archive"))
			v = append(v, []byte(hex.EncodeToString(sum[:])+"  "+r.hostAsset()+"\n")...)
		}
		tampered.assets[k] = v
	}
	url, _ := serve(t, tampered)
	install(t, map[string]string{"BUMP_VERSION": r.tag, "BUMP_RELEASE_URL": url}).failed(t, "checksum mismatch")
}

func TestInstallMissingAsset(t *testing.T) {
	r := snapshotRelease(t)
	missing := release{tag: r.tag, assets: map[string][]byte{}}
	for k, v := range r.assets {
		if k != r.hostAsset() {
			missing.assets[k] = v
		}
	}
	url, _ := serve(t, missing)
	install(t, map[string]string{"BUMP_VERSION": r.tag, "BUMP_RELEASE_URL": url}).failed(t, "HTTP 404")

	// An unknown tag is a missing asset too, and so is a server that is gone.
	install(t, map[string]string{"BUMP_VERSION": "v9.9.9", "BUMP_RELEASE_URL": url}).failed(t, "HTTP 404")
	srv := httptest.NewServer(http.NotFoundHandler())
	gone := srv.URL
	srv.Close()
	install(t, map[string]string{"BUMP_VERSION": r.tag, "BUMP_RELEASE_URL": gone}).failed(t, "download "+gone)
}

func TestInstallUnknownPlatform(t *testing.T) {
	url, hits := serve(t, release{tag: "v1.0.0"})
	for _, c := range []struct{ env, value, want string }{
		{"RUNNER_OS", "Plan9", "unsupported OS Plan9"},
		{"RUNNER_ARCH", "S390X", "unsupported architecture S390X"},
		{"RUNNER_ARCH", "ARM", "unsupported architecture ARM"},
	} {
		install(t, map[string]string{"BUMP_VERSION": "v1.0.0", "BUMP_RELEASE_URL": url, c.env: c.value}).failed(t, c.want)
	}
	for _, bad := range []string{"", "../v1.0.0", "v1 0", "v1/../../x"} {
		install(t, map[string]string{"BUMP_VERSION": bad, "BUMP_RELEASE_URL": url}).failed(t, "BUMP_VERSION")
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests made for a platform or version with no release", n)
	}
}

// TestInstallToolCache: a second job on the same runner installs from the
// tool cache, without the network.
func TestInstallToolCache(t *testing.T) {
	r := snapshotRelease(t)
	url, hits := serve(t, r)
	cache := t.TempDir()
	env := map[string]string{"BUMP_VERSION": r.tag, "BUMP_RELEASE_URL": url, "RUNNER_TOOL_CACHE": cache}
	if res := install(t, env); res.err != nil {
		t.Fatalf("first install: %v\n%s", res.err, res.stderr)
	}
	first := hits.Load()
	if first != 2 {
		t.Errorf("first install made %d requests, want 2 (checksums, archive)", first)
	}
	res := install(t, env)
	if res.err != nil {
		t.Fatalf("cached install: %v\n%s", res.err, res.stderr)
	}
	if hits.Load() != first {
		t.Error("the cached install downloaded again")
	}
	if _, err := os.Stat(filepath.Join(res.dir, "bump")); err != nil {
		t.Error(err)
	}
}
