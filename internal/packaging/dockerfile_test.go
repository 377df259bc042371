package packaging

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

var buildLine = regexp.MustCompile(`(?m)go build -trimpath -ldflags "[^"]*" -o \S+ \./cmd/bump`)

// TestDockerfile parses and lints the Dockerfile with buildkit, and checks
// the final stage: static base, non-root user, exec-form ENTRYPOINT, labels;
// and that .ci/run builds with the Dockerfile's own command.
func TestDockerfile(t *testing.T) {
	src := readString(t, filepath.Join(root, "Dockerfile"))
	res, err := parser.Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	lint := linter.New(&linter.Config{ExperimentalAll: true, Warn: func(rule, _, _, msg string, loc []parser.Range) {
		warnings = append(warnings, rule+": "+msg)
	}})
	stages, _, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) > 0 || len(warnings) > 0 {
		t.Errorf("Dockerfile lint: %v %v", res.Warnings, warnings)
	}
	// The build line's promise of a static binary rests on its stage's ENV.
	cgo := ""
	for _, c := range stages[0].Commands {
		if e, ok := c.(*instructions.EnvCommand); ok {
			for _, kv := range e.Env {
				if kv.Key == "CGO_ENABLED" {
					cgo = kv.Value
				}
			}
		}
	}
	if cgo != "0" {
		t.Errorf("build stage sets CGO_ENABLED=%q, want 0", cgo)
	}
	final := stages[len(stages)-1]
	var user, entry string
	labels := map[string]bool{}
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.EntrypointCommand:
			entry = strings.Join(c.CmdLine, " ")
			if c.PrependShell {
				t.Error("ENTRYPOINT in shell form")
			}
		case *instructions.LabelCommand:
			for _, kv := range c.Labels {
				labels[kv.Key] = true
			}
		}
	}
	if user == "" || strings.HasPrefix(user, "root") || strings.HasPrefix(user, "0") {
		t.Errorf("final stage runs as %q", user)
	}
	if entry != "/bump" {
		t.Errorf("ENTRYPOINT = %q", entry)
	}
	for _, l := range []string{"org.opencontainers.image.version", "org.opencontainers.image.revision", "org.opencontainers.image.source"} {
		if !labels[l] {
			t.Errorf("final stage lacks label %s", l)
		}
	}
	if !strings.Contains(final.BaseName, "distroless/static") && final.BaseName != "scratch" {
		t.Errorf("final base %q is neither distroless static nor scratch", final.BaseName)
	}

	// .ci/run builds the binary it measures with the Dockerfile's command.
	docker := buildLine.FindString(src)
	if docker == "" || !strings.Contains(docker, "cli.version=") || !strings.Contains(docker, "-s -w") {
		t.Fatalf("no stamped, stripped build line in the Dockerfile: %q", docker)
	}
	ciRun := buildLine.FindString(readString(t, filepath.Join(root, ".ci", "run")))
	norm := regexp.MustCompile(`-o \S+`)
	if norm.ReplaceAllString(ciRun, "-o OUT") != norm.ReplaceAllString(docker, "-o OUT") {
		t.Errorf("build commands differ:\nDockerfile: %s\n.ci/run:    %s", docker, ciRun)
	}
}

// TestDockerfileBuild runs the Dockerfile's own `go build` line, with its
// ENV and ARGs set, and checks what the image promises of the binary:
// stamped (--version), static (no ELF interpreter), stripped (no symbol
// table) and trimmed (no path of the build machine inside).
func TestDockerfileBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	line := buildLine.FindString(readString(t, filepath.Join(root, "Dockerfile")))
	if line == "" {
		t.Fatal("no build line in the Dockerfile")
	}
	bin := filepath.Join(t.TempDir(), "bump")
	line = regexp.MustCompile(`-o \S+`).ReplaceAllLiteralString(line, `-o "$BUMP_TEST_OUT"`)
	cmd := exec.Command("sh", "-ec", line)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local", "BUMP_TEST_OUT="+bin,
		"VERSION=v9.8.7", "COMMIT=0123abc", "DATE=2026-01-02T03:04:05Z")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("bump --version: %v", err)
	}
	if got, want := strings.TrimSpace(string(out)), "bump v9.8.7 (commit 0123abc, built 2026-01-02T03:04:05Z)"; got != want {
		t.Errorf("--version = %q, want %q", got, want)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("binary has an ELF interpreter: not static")
		}
	}
	if f.Section(".symtab") != nil {
		t.Error("binary has a symbol table: not stripped (-s)")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains([]byte(readString(t, bin)), []byte(abs)) {
		t.Error("binary holds the module's absolute path: not trimmed")
	}
	t.Logf("binary size: %d bytes", len(readString(t, bin)))
}
