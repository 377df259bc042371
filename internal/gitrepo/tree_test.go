package gitrepo_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/bump-gitops/bump/internal/gitrepo"
	"github.com/bump-gitops/bump/internal/gitrepo/gittest"
)

func TestTreeFSSymlinksAndModes(t *testing.T) {
	ctx := context.Background()
	s := gittest.NewServer(t)
	url := s.CreateRepo(t, "m", files)
	work := t.TempDir()
	gittest.Git(t, "", "clone", "-q", s.RepoDir("m"), work)
	// A link out of the tree and a link to a directory: neither may be followed.
	if err := os.Symlink("../outside/secret", filepath.Join(work, "escape.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("apps", filepath.Join(work, "linked")); err != nil {
		t.Fatal(err)
	}
	gittest.Git(t, work, "add", "-A")
	gittest.Git(t, work, "commit", "-q", "-m", "links")
	gittest.Git(t, work, "push", "-q", "origin", "main")

	r := clone(t, s, url, "")
	tree, err := r.TreeFS(r.BaseCommit())
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(tree, "README.md", "apps/api/deploy.yaml", "apps/web/deploy.yaml", "escape.yaml", "linked"); err != nil {
		t.Fatal(err)
	}
	entries, err := fs.ReadDir(tree, ".")
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]fs.FileMode{}
	for _, e := range entries {
		types[e.Name()] = e.Type()
	}
	if types["escape.yaml"] != fs.ModeSymlink || types["linked"] != fs.ModeSymlink || types["apps"] != fs.ModeDir || types["README.md"] != 0 {
		t.Errorf("entry types = %v", types)
	}
	if target, err := tree.ReadLink("escape.yaml"); err != nil || target != "../outside/secret" {
		t.Errorf("readlink = %q %v", target, err)
	}
	// Reading a link yields its target text, never the file it names.
	if data, err := fs.ReadFile(tree, "escape.yaml"); err != nil || string(data) != "../outside/secret" {
		t.Errorf("read through link = %q %v", data, err)
	}
	if _, err := fs.ReadFile(tree, "linked/api/deploy.yaml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("path through a directory link: %v, want not exist", err)
	}
	var walked []string
	if err := fs.WalkDir(tree, ".", func(p string, d fs.DirEntry, err error) error {
		walked = append(walked, p)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// The walk lists the links and does not descend into "linked".
	want := []string{".", "README.md", "apps", "apps/api", "apps/api/deploy.yaml", "apps/web", "apps/web/deploy.yaml", "escape.yaml", "linked"}
	if !slices.Equal(walked, want) {
		t.Errorf("walked %q, want %q", walked, want)
	}
	// Links are not bump's to rewrite.
	if _, err := r.Commit(ctx, gitrepo.CommitRequest{Parent: r.BaseCommit(), Files: map[string][]byte{"escape.yaml": []byte("x")}, Message: "x", Author: me}); err == nil {
		t.Error("commit through a symlink accepted")
	}
}

// The manifest engine reads with several workers at once.
func TestTreeFSConcurrentReads(t *testing.T) {
	s := gittest.NewServer(t)
	url := s.CreateRepo(t, "m", files)
	r := clone(t, s, url, "")
	tree, err := r.TreeFS(r.BaseCommit())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(files))
	for range 8 {
		wg.Go(func() {
			for p, want := range files {
				got, err := fs.ReadFile(tree, p)
				if err == nil && string(got) != want {
					err = errors.New(p + ": wrong content")
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
