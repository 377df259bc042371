package cli

import (
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bump-gitops/bump/internal/manifest"
)

// hostileFile is a file name from the manifests repository that runs a
// command, or breaks out of quotes, if a shell reads it unquoted.
const hostileFile = "apps/$(touch pwned) `touch pwned2` 'q' \"d\" $HOME ; \\ ~ ! #x é😀\t.yaml"

// TestDotenvShellAndGitLabReadTheSame sources the report with /bin/sh and
// parses it as GitLab does: both get the same values, nothing runs, and
// BUMP_CHANGES decodes to the changes with their hostile file name intact.
func TestDotenvShellAndGitLabReadTheSame(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "bump.env")
	o := sampleOutcome()
	o.Changes[0].File = hostileFile
	if err := writeDotenv(path, o); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	gitlab := parseDotenv(t, data)

	// The shell prints each variable NUL-terminated after sourcing the file.
	script := `. ./bump.env && for k in BUMP_CHANGED BUMP_HEAD_BRANCH BUMP_COMMIT_SHA BUMP_PR_NUMBER BUMP_PR_URL BUMP_CHANGES; do eval "printf '%s=%s\0' \"\$k\" \"\$$k\""; done`
	cmd := exec.Command(sh, "-c", script)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=/nonexistent", "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sourcing the report: %v\n%s\nfile:\n%s", err, out, data)
	}
	shell := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		shell[k] = v
	}
	for _, f := range []string{"pwned", "pwned2"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("sourcing the report ran a command (%s exists)\nfile:\n%s", f, data)
		}
	}
	// JSON needs its double quotes, which a shell removes: the one
	// difference, and the only quote character left in the file.
	want := maps.Clone(gitlab)
	want["BUMP_CHANGES"] = strings.ReplaceAll(gitlab["BUMP_CHANGES"], `"`, "")
	if !reflect.DeepEqual(shell, want) {
		t.Errorf("sh and GitLab read different values:\nsh:     %q\ngitlab: %q\nfile:\n%s", shell, gitlab, data)
	}
	var changes []manifest.Change
	if err := json.Unmarshal([]byte(gitlab["BUMP_CHANGES"]), &changes); err != nil {
		t.Fatalf("BUMP_CHANGES: %v", err)
	}
	if !reflect.DeepEqual(changes, o.Changes) {
		t.Errorf("BUMP_CHANGES = %+v, want %+v", changes, o.Changes)
	}
}

// TestDotenvRefusesUnsafeValue: a value that a shell would read otherwise
// than GitLab (a branch from a hostile template) is refused, not written.
func TestDotenvRefusesUnsafeValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bump.env")
	o := sampleOutcome()
	o.Branch = "bump/$(touch${IFS}x)"
	err := writeDotenv(path, o)
	if err == nil || !strings.Contains(err.Error(), "BUMP_HEAD_BRANCH") {
		t.Fatalf("err = %v, want a refusal naming BUMP_HEAD_BRANCH", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("the report was written anyway")
	}
}

// TestDotenvRefusesSymlink: a symlink at the report's path (planted by a
// checked-out repository, say) is not followed; its target is untouched.
func TestDotenvRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "victim")
	if err := os.WriteFile(target, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "bump.env")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	err := writeDotenv(path, sampleOutcome())
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("err = %v, want a refusal to write through a symbolic link", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "precious\n" {
		t.Errorf("the link's target was overwritten: %q", b)
	}
	// A regular file is replaced, as before.
	path2 := filepath.Join(dir, "other.env")
	if err := os.WriteFile(path2, []byte("OLD=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeDotenv(path2, sampleOutcome()); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path2); strings.Contains(string(b), "OLD=1") {
		t.Errorf("old content left: %q", b)
	}
}

// FuzzDotenvChanges: whatever the file names, the report is written, GitLab
// reads back the same changes, and no line holds a character a shell acts on.
func FuzzDotenvChanges(f *testing.F) {
	f.Add(hostileFile)
	f.Add("a\"b\\\"c\\u0024")
	f.Add("\x00\x7f\u2028\U0001F600")
	f.Fuzz(func(t *testing.T, name string) {
		path := filepath.Join(t.TempDir(), "bump.env")
		o := sampleOutcome()
		o.Changes[0].File = name
		if err := writeDotenv(path, o); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if i := strings.IndexAny(string(data), "$`' ;&|<>()!*?~#\t\r"); i >= 0 {
			t.Fatalf("shell-active character %q in the report:\n%s", data[i], data)
		}
		var changes []manifest.Change
		if err := json.Unmarshal([]byte(parseDotenv(t, data)["BUMP_CHANGES"]), &changes); err != nil {
			t.Fatal(err)
		}
		var want []manifest.Change
		js, _ := json.Marshal(o.Changes) // what any JSON reader gets: invalid UTF-8 becomes U+FFFD
		_ = json.Unmarshal(js, &want)
		if !reflect.DeepEqual(changes, want) {
			t.Fatalf("changes = %+v, want %+v", changes, want)
		}
	})
}
