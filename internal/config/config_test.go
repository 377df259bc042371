package config

import (
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

var update = flag.Bool("update", false, "rewrite the want section of the golden files")

// TestGolden: each testdata/config/*.txtar has a .bump.yaml, optionally an
// env naming the environment to resolve, and want: the resolved settings
// as JSON, or "error: …" with the exact message.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/config/*.txtar")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sections := map[string]string{}
			for _, f := range ar.Files {
				sections[f.Name] = string(f.Data)
			}
			if _, ok := sections["want"]; !ok {
				t.Fatal("no want section")
			}
			got := resolve(sections[".bump.yaml"], strings.TrimSpace(sections["env"]))
			if *update {
				for i := range ar.Files {
					if ar.Files[i].Name == "want" {
						ar.Files[i].Data = []byte(got)
					}
				}
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != sections["want"] {
				t.Errorf("got:\n%s\nwant:\n%s", got, sections["want"])
			}
		})
	}
}

func resolve(data, env string) string {
	c, err := Parse(".bump.yaml", []byte(data))
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	s, err := c.Resolve(env)
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	return string(b) + "\n"
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/config/*.txtar")
	for _, file := range files {
		if ar, err := txtar.ParseFile(file); err == nil {
			for _, fl := range ar.Files {
				if fl.Name == ".bump.yaml" {
					f.Add(fl.Data)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.yaml", data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		for env := range c.Environments {
			if _, err := c.Resolve(env); err != nil {
				t.Fatalf("resolve a known environment: %v", err)
			}
		}
	})
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, FileName)
	if err := os.WriteFile(file, []byte("version: 1\nbase: main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := c.Resolve(""); s.Base != "main" {
		t.Errorf("base = %q, want main", s.Base)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
	if err := os.WriteFile(file, []byte("version: 1\nbase: [main]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(file); err == nil || !strings.HasPrefix(err.Error(), file+":2:") {
		t.Errorf("err = %v, want it to name %s:2", err, file)
	}
}
