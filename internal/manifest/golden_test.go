package manifest

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/bump-gitops/bump/internal/imageref"
)

var update = flag.Bool("update", false, "rewrite the expected side of testdata/golden cases")

const goldenDir = "../../testdata/golden"

// A golden case is a txtar archive:
//
//	-- args --          flags: --image, --path, --skip-invalid, --allow-downgrade,
//	                    --max-file-size N, --symlink LINK=TARGET
//	-- k8s/a.yaml --    an input file
//	-- want/k8s/a.yaml --  its expected new content (only for changed files)
//	-- want/result --   changes, skips, or the error
//
// A file name may end in "[crlf]", "[bom]" or "[noeol]" (combinable, e.g.
// "a.yaml [crlf bom]"): the content is stored with plain LF line ends and
// converted before use, because txtar itself cannot hold CRLF reliably.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join(goldenDir, "*.txtar"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases in %s: %v", goldenDir, err)
	}
	for _, file := range cases {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			runGolden(t, file)
		})
	}
}

type goldenCase struct {
	opts     Options
	symlinks [][2]string
	inputs   map[string][]byte // path -> bytes as used
	flags    map[string]string // path -> flag suffix ("" or " [crlf]")
	want     map[string][]byte // path -> expected bytes
	result   string
}

func splitName(name string) (string, []string) {
	if i := strings.Index(name, " ["); i >= 0 && strings.HasSuffix(name, "]") {
		return name[:i], strings.Fields(name[i+2 : len(name)-1])
	}
	return name, nil
}

func applyFlags(data []byte, flags []string) []byte {
	for _, f := range flags {
		switch f {
		case "noeol":
			data = bytes.TrimSuffix(data, []byte("\n"))
		}
	}
	for _, f := range flags {
		switch f {
		case "crlf":
			data = bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n"))
		case "bom":
			data = append([]byte("\xef\xbb\xbf"), data...)
		}
	}
	return data
}

func unapplyFlags(data []byte, flags []string) []byte {
	for _, f := range flags {
		switch f {
		case "crlf":
			data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
		case "bom":
			data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
		case "noeol":
			data = append(data, '\n')
		}
	}
	return data
}

func loadGolden(t *testing.T, ar *txtar.Archive) goldenCase {
	t.Helper()
	c := goldenCase{inputs: map[string][]byte{}, flags: map[string]string{}, want: map[string][]byte{}}
	for _, f := range ar.Files {
		name, flags := splitName(f.Name)
		switch {
		case name == "args":
			c.opts, c.symlinks = parseArgs(t, string(f.Data))
		case name == "want/result":
			c.result = string(f.Data)
		case strings.HasPrefix(name, "want/"):
			c.want[strings.TrimPrefix(name, "want/")] = applyFlags(bytes.Clone(f.Data), flags)
		default:
			c.inputs[name] = applyFlags(bytes.Clone(f.Data), flags)
			c.flags[name] = strings.TrimPrefix(f.Name, name)
		}
	}
	return c
}

func parseArgs(t *testing.T, s string) (Options, [][2]string) {
	t.Helper()
	var opts Options
	var links [][2]string
	args := strings.Fields(s)
	for i := 0; i < len(args); i++ {
		next := func() string {
			i++
			if i >= len(args) {
				t.Fatalf("args: %s needs a value", args[i-1])
			}
			return args[i]
		}
		switch a := args[i]; a {
		case "--image":
			r, err := imageref.Parse(next())
			if err != nil {
				t.Fatalf("args: %v", err)
			}
			opts.Images = append(opts.Images, r)
		case "--path":
			opts.Paths = append(opts.Paths, next())
		case "--skip-invalid":
			opts.SkipInvalid = true
		case "--allow-downgrade":
			opts.AllowDowngrade = true
		case "--max-file-size":
			n, err := strconv.ParseInt(next(), 10, 64)
			if err != nil {
				t.Fatalf("args: %v", err)
			}
			opts.MaxFileSize = n
		case "--symlink":
			link, target, ok := strings.Cut(next(), "=")
			if !ok {
				t.Fatalf("args: --symlink wants LINK=TARGET")
			}
			links = append(links, [2]string{link, target})
		default:
			t.Fatalf("args: unknown flag %q", a)
		}
	}
	return opts, links
}

func renderResult(res *Result, err error) string {
	var b strings.Builder
	if err != nil {
		fmt.Fprintf(&b, "error: %v\n", err)
		return b.String()
	}
	for _, c := range res.Changes {
		fmt.Fprintf(&b, "change %s:%d %s %s -> %s\n", c.File, c.Line, c.Image, c.From, c.To)
	}
	for _, s := range res.Skipped {
		loc := s.File
		if s.Line > 0 {
			loc += ":" + strconv.Itoa(s.Line)
		}
		img := ""
		if s.Image != "" {
			img = " " + s.Image
		}
		fmt.Fprintf(&b, "skip %s%s: %s\n", loc, img, s.Reason)
	}
	for _, w := range res.Warnings {
		img := ""
		if w.Image != "" {
			img = " " + w.Image
		}
		fmt.Fprintf(&b, "warn %s:%d%s: %s\n", w.File, w.Line, img, w.Reason)
	}
	for _, img := range res.NotFound {
		fmt.Fprintf(&b, "not found %s\n", img)
	}
	if b.Len() == 0 {
		b.WriteString("no changes\n")
	}
	return b.String()
}

func runGolden(t *testing.T, file string) {
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	c := loadGolden(t, ar)
	if len(c.opts.Images) == 0 {
		t.Fatal("case has no --image in args")
	}
	dir := writeTree(t, c)
	res, err := Rewrite(context.Background(), os.DirFS(dir), c.opts)
	got := renderResult(res, err)

	if *update {
		updateGolden(t, file, ar, c, res, got)
		return
	}

	if got != c.result {
		t.Errorf("result differs\n--- got\n%s--- want\n%s", got, c.result)
	}
	if err != nil {
		if len(c.want) > 0 {
			t.Errorf("run failed but the case expects changed files")
		}
		return
	}
	checkFiles(t, c, res.Files)

	// Writing the result must produce exactly the expected tree, and a second
	// run over it must find nothing left to do.
	if err := WriteFiles(dir, res.Files); err != nil {
		t.Fatalf("WriteFiles: %v", err)
	}
	for name, in := range c.inputs {
		want := in
		if w, ok := c.want[name]; ok {
			want = w
		}
		disk, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(disk, want) {
			t.Errorf("%s on disk after WriteFiles differs from the expected content", name)
		}
	}
	again, err := Rewrite(context.Background(), os.DirFS(dir), c.opts)
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if len(again.Changes) > 0 || len(again.Files) > 0 {
		t.Errorf("second run is not a no-op:\n%s", renderResult(again, nil))
	}
}

// writeTree writes a case's input files and symlinks to a new directory.
func writeTree(t *testing.T, c goldenCase) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range c.inputs {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range c.symlinks {
		p := filepath.Join(dir, filepath.FromSlash(l[0]))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(l[1], p); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// checkFiles compares the changed files with the case's want/ files.
func checkFiles(t *testing.T, c goldenCase, files []File) {
	t.Helper()
	gotFiles := map[string][]byte{}
	for _, f := range files {
		gotFiles[f.Path] = f.Data
		want, ok := c.want[f.Path]
		if !ok {
			t.Errorf("%s changed but the case expects it unchanged:\n%s", f.Path, f.Data)
			continue
		}
		if !bytes.Equal(f.Data, want) {
			t.Errorf("%s differs\n--- got\n%q\n--- want\n%q", f.Path, f.Data, want)
		}
		if f.Mode != 0o644 {
			t.Errorf("%s: mode %v, want 0644", f.Path, f.Mode)
		}
	}
	for p := range c.want {
		if _, ok := gotFiles[p]; !ok {
			t.Errorf("%s: expected a change, got none", p)
		}
	}
}

func updateGolden(t *testing.T, file string, ar *txtar.Archive, c goldenCase, res *Result, got string) {
	var files []txtar.File
	for _, f := range ar.Files {
		if !strings.HasPrefix(f.Name, "want/") {
			files = append(files, f)
		}
	}
	if res != nil {
		for _, f := range res.Files {
			suffix := c.flags[f.Path]
			_, flags := splitName("x" + suffix)
			data := unapplyFlags(bytes.Clone(f.Data), flags)
			if !bytes.Equal(applyFlags(bytes.Clone(data), flags), f.Data) {
				t.Fatalf("%s: output cannot be stored with flags %q", f.Path, suffix)
			}
			files = append(files, txtar.File{Name: "want/" + f.Path + suffix, Data: data})
		}
	}
	files = append(files, txtar.File{Name: "want/result", Data: []byte(got)})
	ar.Files = files
	if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
		t.Fatal(err)
	}
}
