package gitrepo

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/format/idxfile"

	"github.com/bump-gitops/bump/internal/gitrepo/gittest"
)

// TestIndexPackMatchesGit indexes a pack full of deltas (OFS and REF, in
// chains) and compares every hash, offset and CRC with git's own index.
func TestIndexPackMatchesGit(t *testing.T) {
	for _, refDelta := range []bool{false, true} {
		t.Run(fmt.Sprintf("ref-delta=%v", refDelta), func(t *testing.T) {
			dir := t.TempDir()
			gittest.Git(t, dir, "init", "-q", "-b", "main")
			var text strings.Builder
			for i := range 200 {
				fmt.Fprintf(&text, "line %d: image: ghcr.io/acme/svc-%d:v1.0.0\n", i, i)
			}
			for c := range 5 {
				for f := range 4 {
					body := strings.Replace(text.String(), fmt.Sprintf("svc-%d:", c*10+f), "changed:", 1)
					if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d.yaml", f)), []byte(body), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				gittest.Git(t, dir, "add", "-A")
				gittest.Git(t, dir, "commit", "-q", "-m", fmt.Sprintf("c%d", c))
			}
			revs := gittest.Git(t, dir, "rev-list", "--objects", "main")
			var list strings.Builder
			for l := range strings.Lines(revs) {
				list.WriteString(strings.Fields(l)[0] + "\n")
			}
			args := []string{"pack-objects", "--stdout", "--depth=10", "--window=10"}
			if !refDelta {
				args = append(args, "--delta-base-offset")
			}
			cmd := exec.Command("git", args...)
			cmd.Dir, cmd.Env, cmd.Stdin = dir, gittest.Env(t.TempDir()), strings.NewReader(list.String())
			pack, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			packPath := filepath.Join(t.TempDir(), "test.pack")
			if err := os.WriteFile(packPath, pack, 0o644); err != nil {
				t.Fatal(err)
			}
			gittest.Git(t, dir, "index-pack", packPath)
			verify := gittest.Git(t, dir, "verify-pack", "-v", strings.TrimSuffix(packPath, ".pack")+".idx")
			if !strings.Contains(verify, "chain length = 2") {
				t.Fatalf("the pack has no delta chains:\n%s", verify)
			}
			f, err := os.Open(strings.TrimSuffix(packPath, ".pack") + ".idx")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			gitIdx := idxfile.NewMemoryIndex()
			if err := idxfile.NewDecoder(f).Decode(gitIdx); err != nil {
				t.Fatal(err)
			}
			want := entryList(t, gitIdx)
			idx, sum, err := indexPack(bytes.NewReader(pack))
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%x", pack[len(pack)-20:]); sum.String() != got {
				t.Errorf("checksum %s, want %s", sum, got)
			}
			got := entryList(t, idx)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("index:\n%s\nwant (git):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func entryList(t *testing.T, idx idxfile.Index) []string {
	entries, err := idx.Entries()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for {
		e, err := entries.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %d %08x", e.Hash, e.Offset, e.CRC32))
	}
	sort.Strings(out)
	return out
}
