package gitrepo_test

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bump-gitops/bump/internal/gitrepo"
	"github.com/bump-gitops/bump/internal/gitrepo/gittest"
	"github.com/bump-gitops/bump/internal/imageref"
	"github.com/bump-gitops/bump/internal/manifest"
	"github.com/bump-gitops/bump/internal/rsstest"
)

// TestZipBombRepoBoundedMemory clones a repository of about 1 MB whose tree
// holds a 1 GiB blob of zeros (named like a manifest, so the rewrite sees
// it) next to a deployment, rewrites the deployment, commits and pushes,
// all in a child process whose peak resident set must stay far below the
// blob's size: bump inflates only what it reads, and reads no file over
// the size cap.
func TestZipBombRepoBoundedMemory(t *testing.T) {
	const limit = 512 << 20
	if rsstest.Child(t, limit) {
		bumpZipBomb(t, os.Getenv("ZIPBOMB_URL"), gitrepo.Auth{Username: os.Getenv("ZIPBOMB_USER"), Password: os.Getenv("ZIPBOMB_PASSWORD")})
		return
	}
	s := gittest.NewServer(t)
	url := createZipBombRepo(t, s, "bomb", 1<<30, map[string]string{
		"deploy.yaml": "spec:\n  containers:\n    - image: ghcr.io/acme/api:v1.0.0\n",
	})
	peak := rsstest.Run(t, limit, "ZIPBOMB_URL="+url, "ZIPBOMB_USER="+s.User, "ZIPBOMB_PASSWORD="+s.Password)
	t.Logf("peak resident set %d MiB", peak>>20)
	if got := s.File(t, "bomb", "bump/api", "deploy.yaml"); !strings.Contains(got, "api:v1.0.1") {
		t.Errorf("pushed deploy.yaml = %q", got)
	}
	if got := gittest.Git(t, s.RepoDir("bomb"), "rev-parse", "bump/api:huge.yaml"); got != gittest.Git(t, s.RepoDir("bomb"), "rev-parse", "main:huge.yaml") {
		t.Errorf("huge.yaml changed in the pushed commit")
	}
}

func bumpZipBomb(t *testing.T, url string, auth gitrepo.Auth) {
	ctx := context.Background()
	r, err := gitrepo.Clone(ctx, gitrepo.CloneOptions{URL: url, Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	tree, err := r.TreeFS(r.BaseCommit())
	if err != nil {
		t.Fatal(err)
	}
	if info, err := fs.Stat(tree, "huge.yaml"); err != nil || info.Size() != 1<<30 {
		t.Fatalf("stat huge.yaml: %v, %v", info, err)
	}
	if _, err := fs.ReadFile(tree, "huge.yaml"); err == nil || !strings.Contains(err.Error(), "more than bump reads whole") {
		t.Fatalf("ReadFile of the 1 GiB blob: %v", err)
	}
	ref, err := imageref.Parse("ghcr.io/acme/api:v1.0.1")
	if err != nil {
		t.Fatal(err)
	}
	res, err := manifest.Rewrite(ctx, tree, manifest.Options{Images: []imageref.Ref{ref}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || res.Files[0].Path != "deploy.yaml" {
		t.Fatalf("rewrote %+v, want deploy.yaml", res.Files)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].File != "huge.yaml" {
		t.Fatalf("skipped %+v, want huge.yaml", res.Skipped)
	}
	commit, err := r.Commit(ctx, gitrepo.CommitRequest{
		Parent: r.BaseCommit(), Files: map[string][]byte{"deploy.yaml": res.Files[0].Data}, Message: "bump api", Author: me,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Push(ctx, commit, "bump/api", ""); err != nil {
		t.Fatal(err)
	}
}

// createZipBombRepo makes a bare repository whose main branch holds files
// and huge.yaml, size zero bytes. Its pack and index are written here
// rather than by git, which would spend a minute deflating the zeros: the
// deflate stream is one block of zeros repeated (each block refers only
// to the zeros before it), so building it costs one SHA-1 of the content.
func createZipBombRepo(t *testing.T, s *gittest.Server, name string, size int64, files map[string]string) string {
	t.Helper()
	dir := s.RepoDir(name)
	gittest.Git(t, "", "init", "-q", "--bare", "-b", "main", dir)
	gittest.Git(t, dir, "config", "http.receivepack", "true")
	blob := writeZerosPack(t, filepath.Join(dir, "objects", "pack"), size)
	var entries strings.Builder
	fmt.Fprintf(&entries, "100644 blob %s\thuge.yaml\n", blob)
	for p, content := range files {
		h, err := gittest.RunGit(dir, []byte(content), "hash-object", "-w", "--stdin")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&entries, "100644 blob %s\t%s\n", h, p)
	}
	tree, err := gittest.RunGit(dir, []byte(entries.String()), "mktree")
	if err != nil {
		t.Fatal(err)
	}
	commit := gittest.Git(t, dir, "commit-tree", "-m", "initial", tree)
	gittest.Git(t, dir, "update-ref", "refs/heads/main", commit)
	return s.RepoURL(name)
}

// writeZerosPack writes a pack holding one blob of size zero bytes, and its
// version 2 index, and returns the blob's hash.
func writeZerosPack(t *testing.T, dir string, size int64) string {
	t.Helper()
	const chunk = 1 << 20
	if size%chunk != 0 {
		t.Fatalf("size must be a multiple of %d", chunk)
	}
	// The blob's hash.
	zeros := make([]byte, chunk)
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", size)
	for range size / chunk {
		h.Write(zeros)
	}
	oid := h.Sum(nil)

	// A zlib stream of size zeros: the first flushed block, then the
	// second one (which refers only to zeros before it) repeated.
	var first, next, last bytes.Buffer
	fw, err := flate.NewWriter(&first, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(zeros)
	fw.Flush()
	fw.Reset(&next)
	fw.Write(zeros) // a fresh writer: this block starts with a literal too
	fw.Flush()
	fw.Reset(&last)
	fw.Close()
	var obj bytes.Buffer
	// Object header: type 3 (blob) and the size, 4 bits then 7 per byte.
	c := byte(3<<4) | byte(size&0x0f)
	for n := size >> 4; n > 0; n >>= 7 {
		obj.WriteByte(c | 0x80)
		c = byte(n & 0x7f)
	}
	obj.WriteByte(c)
	obj.Write([]byte{0x78, 0xda})
	obj.Write(first.Bytes())
	for range size/chunk - 1 {
		obj.Write(next.Bytes())
	}
	obj.Write(last.Bytes())
	// Adler-32 of zeros: a stays 1, b adds 1 per byte.
	binary.Write(&obj, binary.BigEndian, uint32(size%65521)<<16|1)

	var pack bytes.Buffer
	pack.WriteString("PACK")
	binary.Write(&pack, binary.BigEndian, [2]uint32{2, 1})
	pack.Write(obj.Bytes())
	packSum := sha1.Sum(pack.Bytes())
	pack.Write(packSum[:])

	var idx bytes.Buffer
	idx.Write([]byte{0xff, 't', 'O', 'c', 0, 0, 0, 2})
	for i := range 256 {
		n := uint32(0)
		if i >= int(oid[0]) {
			n = 1
		}
		binary.Write(&idx, binary.BigEndian, n)
	}
	idx.Write(oid)
	binary.Write(&idx, binary.BigEndian, crc32.ChecksumIEEE(obj.Bytes()))
	binary.Write(&idx, binary.BigEndian, uint32(12)) // the object's offset
	idx.Write(packSum[:])
	idxSum := sha1.Sum(idx.Bytes())
	idx.Write(idxSum[:])

	base := filepath.Join(dir, fmt.Sprintf("pack-%x", packSum))
	if err := os.WriteFile(base+".pack", pack.Bytes(), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".idx", idx.Bytes(), 0o444); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", oid)
}
