package packaging

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// actionInstall runs the Action's install step (scripts/action-install.sh)
// as the runner does, and returns its GITHUB_OUTPUT, stderr and install dir.
func actionInstall(t *testing.T, env map[string]string) (output, stderr, dir string, err error) {
	t.Helper()
	tmp := t.TempDir()
	dir = filepath.Join(tmp, "bump-bin")
	out := filepath.Join(tmp, "output")
	if err := os.WriteFile(out, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs(filepath.Join(root, "scripts", "action-install.sh"))
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", script)
	cmd.Dir = tmp
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp, "GITHUB_OUTPUT=" + out,
		"BUMP_INSTALL_DIR=" + dir, "RUNNER_OS=" + runnerOS(), "RUNNER_ARCH=" + runnerArch(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var se bytes.Buffer
	cmd.Stderr = &se
	err = cmd.Run()
	return readString(t, out), se.String(), dir, err
}

func TestActionInstallsRelease(t *testing.T) {
	r := snapshotRelease(t)
	url, _ := serve(t, r)
	output, stderr, dir, err := actionInstall(t, map[string]string{"BUMP_VERSION": r.tag, "BUMP_RELEASE_URL": url})
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if output != "from-source=false\n" {
		t.Errorf("GITHUB_OUTPUT = %q", output)
	}
	if _, err := os.Stat(filepath.Join(dir, "bump")); err != nil {
		t.Error(err)
	}
}

// TestActionBuildsBranchesFromSource: a branch, a SHA or an empty ref is no
// release, and must not be downloaded.
func TestActionBuildsBranchesFromSource(t *testing.T) {
	url, hits := serve(t, release{tag: "main"})
	for _, v := range []string{"main", "0123456789abcdef0123456789abcdef01234567", "", "v1.2", "feature/v1.2.3"} {
		// v1.2 is a moving tag; the action's repository here has no tags.
		output, stderr, dir, err := actionInstall(t, map[string]string{"BUMP_VERSION": v, "BUMP_RELEASE_URL": url,
			"SERVER_URL": t.TempDir(), "ACTION_REPOSITORY": "none"})
		if err != nil {
			t.Fatalf("%q: %v\n%s", v, err, stderr)
		}
		if output != "from-source=true\n" {
			t.Errorf("%q: GITHUB_OUTPUT = %q", v, output)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%q: install directory created", v)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("%d downloads for refs that are not releases", hits.Load())
	}
}

// TestActionResolvesMajorTag: @v1 installs the newest stable release on the
// commit v1 points at, found with git ls-remote of the action's repository.
func TestActionResolvesMajorTag(t *testing.T) {
	server := t.TempDir()
	repo := filepath.Join(server, "bump-gitops", "bump")
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", "-b", "main", repo)
	git("-C", repo, "commit", "-q", "--allow-empty", "-m", "one")
	git("-C", repo, "tag", "-a", "-m", "v1.9.0", "v1.9.0")
	git("-C", repo, "commit", "-q", "--allow-empty", "-m", "two")
	for _, tag := range []string{"v1.10.0", "v1.10.0-rc.1", "v1.2.0"} {
		git("-C", repo, "tag", "-a", "-m", tag, tag)
	}
	git("-C", repo, "tag", "v1")
	url, _ := serve(t, release{tag: "none"})
	_, stderr, _, err := actionInstall(t, map[string]string{"BUMP_VERSION": "v1", "BUMP_RELEASE_URL": url,
		"SERVER_URL": server, "ACTION_REPOSITORY": "bump-gitops/bump"})
	if err == nil {
		t.Fatal("installed from a server with no release")
	}
	if want := url + "/v1.10.0/bump_1.10.0_checksums.txt"; !strings.Contains(stderr, want) {
		t.Errorf("stderr = %q, want a download of %s", stderr, want)
	}
}
