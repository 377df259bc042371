package gitrepo

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// TreeFS is a read-only io/fs view of a git tree, read straight from the
// object store. Symlinks show as fs.ModeSymlink and are never followed,
// and submodules (gitlinks) as empty directories.
// It is safe for concurrent use: go-git's trees cache lookups in maps
// without locks, so every walk through them holds mu; reading blobs does not.
type TreeFS struct {
	mu   sync.Mutex
	root *object.Tree
	// trees holds every directory decoded so far, by path ("." is the
	// root). A walk asks for each directory once as a path and once per
	// child; go-git would decode the whole path down from the root on
	// every one of those calls.
	trees map[string]*object.Tree
}

func newTreeFS(root *object.Tree) *TreeFS {
	return &TreeFS{root: root, trees: map[string]*object.Tree{".": root}}
}

// dirLocked returns the decoded directory at name; t.mu is held.
func (t *TreeFS) dirLocked(name string) (*object.Tree, error) {
	if tree, ok := t.trees[name]; ok {
		return tree, nil
	}
	parent, err := t.dirLocked(path.Dir(name))
	if err != nil {
		return nil, err
	}
	e, err := parent.FindEntry(path.Base(name))
	if err != nil || e.Mode != filemode.Dir {
		return nil, fs.ErrNotExist
	}
	tree, err := parent.Tree(e.Name)
	if err != nil {
		return nil, err
	}
	t.trees[name] = tree
	return tree, nil
}

var (
	_ fs.ReadDirFS  = (*TreeFS)(nil)
	_ fs.ReadFileFS = (*TreeFS)(nil)
	_ fs.StatFS     = (*TreeFS)(nil)
	_ fs.ReadLinkFS = (*TreeFS)(nil)
)

// entry finds name in the tree; "." is the root.
func (t *TreeFS) entry(op, name string) (*object.TreeEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return &object.TreeEntry{Name: ".", Mode: filemode.Dir, Hash: t.root.Hash}, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	dir, err := t.dirLocked(path.Dir(name))
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	e, err := dir.FindEntry(path.Base(name))
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return e, nil
}

// Open opens a file or directory.
func (t *TreeFS) Open(name string) (fs.File, error) {
	e, err := t.entry("open", name)
	if err != nil {
		return nil, err
	}
	info := entryInfo{name: path.Base(name), mode: e.Mode}
	switch e.Mode {
	case filemode.Dir:
		dir, err := t.subtree(name)
		if err != nil {
			return nil, err
		}
		return &treeDir{info: info, fs: t, path: name, tree: dir}, nil
	case filemode.Submodule:
		return &treeDir{info: info, fs: t, path: name}, nil
	}
	blob, err := t.blob("open", name, e)
	if err != nil {
		return nil, err
	}
	info.size = blob.Size
	return &treeFile{info: info, path: name, blob: blob}, nil
}

// blob looks up a file's blob. Its size comes from the object header, and
// its content is not inflated until it is read (small blobs excepted).
func (t *TreeFS) blob(op, name string, e *object.TreeEntry) (*object.Blob, error) {
	f, err := t.root.TreeEntryFile(e)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return &f.Blob, nil
}

func (t *TreeFS) subtree(name string) (*object.Tree, error) {
	t.mu.Lock()
	sub, err := t.dirLocked(name)
	t.mu.Unlock()
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return sub, nil
}

// maxReadFile bounds what ReadFile inflates: files bump reads whole (a
// config file, a manifest to diff) are small, and a blob of a gigabyte of
// zeros is a few hundred kilobytes in a pack.
const maxReadFile = 64 << 20

// ReadFile reads a blob, up to maxReadFile bytes. A symlink yields its target, as os.Readlink would.
func (t *TreeFS) ReadFile(name string) ([]byte, error) {
	e, err := t.entry("read", name)
	if err != nil {
		return nil, err
	}
	if e.Mode == filemode.Dir || e.Mode == filemode.Submodule {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrInvalid}
	}
	f, err := t.blob("read", name, e)
	if err != nil {
		return nil, err
	}
	if f.Size > maxReadFile {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("%d bytes, more than bump reads whole (%d)", f.Size, int64(maxReadFile))}
	}
	rc, err := f.Reader()
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	defer rc.Close()
	data := make([]byte, 0, f.Size)
	buf := bytes.NewBuffer(data)
	if _, err := io.Copy(buf, rc); err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return buf.Bytes(), nil
}

// Stat describes a file without reading its content.
func (t *TreeFS) Stat(name string) (fs.FileInfo, error) {
	e, err := t.entry("stat", name)
	if err != nil {
		return nil, err
	}
	info := entryInfo{name: path.Base(name), mode: e.Mode}
	if e.Mode.IsFile() {
		if b, err := t.blob("stat", name, e); err == nil {
			info.size = b.Size
		}
	}
	return info, nil
}

// ReadDir lists a directory in tree order (sorted by name, as fs wants).
func (t *TreeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	e, err := t.entry("readdir", name)
	if err != nil {
		return nil, err
	}
	if e.Mode == filemode.Submodule {
		return nil, nil
	}
	if e.Mode != filemode.Dir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	dir, err := t.subtree(name)
	if err != nil {
		return nil, err
	}
	return t.dirEntries(name, dir), nil
}

func (t *TreeFS) dirEntries(dir string, tree *object.Tree) []fs.DirEntry {
	out := make([]fs.DirEntry, 0, len(tree.Entries))
	for _, e := range tree.Entries {
		out = append(out, treeDirEntry{fs: t, path: path.Join(dir, e.Name), info: entryInfo{name: e.Name, mode: e.Mode}})
	}
	// Git sorts directories as if their names ended in "/"; fs wants plain order.
	sortEntries(out)
	return out
}

func sortEntries(es []fs.DirEntry) {
	slices.SortFunc(es, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
}

// ReadLink returns a symlink's target without following it.
func (t *TreeFS) ReadLink(name string) (string, error) {
	e, err := t.entry("readlink", name)
	if err != nil {
		return "", err
	}
	if e.Mode != filemode.Symlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	b, err := t.ReadFile(name)
	return string(b), err
}

// Lstat is Stat: nothing in a tree is ever followed.
func (t *TreeFS) Lstat(name string) (fs.FileInfo, error) { return t.Stat(name) }

// treeDirEntry answers Name and Type from the tree entry; Info, which needs
// the blob's size, is looked up only when asked.
type treeDirEntry struct {
	fs   *TreeFS
	path string
	info entryInfo
}

func (d treeDirEntry) Name() string               { return d.info.name }
func (d treeDirEntry) IsDir() bool                { return d.info.IsDir() }
func (d treeDirEntry) Type() fs.FileMode          { return d.info.Mode().Type() }
func (d treeDirEntry) Info() (fs.FileInfo, error) { return d.fs.Stat(d.path) }

type entryInfo struct {
	name string
	mode filemode.FileMode
	size int64
}

func (i entryInfo) Name() string { return i.name }
func (i entryInfo) Size() int64  { return i.size }
func (i entryInfo) Mode() fs.FileMode {
	switch i.mode {
	case filemode.Dir, filemode.Submodule:
		return fs.ModeDir | 0o755
	case filemode.Symlink:
		return fs.ModeSymlink | 0o777
	case filemode.Executable:
		return 0o755
	}
	return 0o644
}
func (i entryInfo) ModTime() time.Time { return time.Time{} }
func (i entryInfo) IsDir() bool        { return i.Mode().IsDir() }
func (i entryInfo) Sys() any           { return nil }

// treeFile reads its blob as a stream, opened on the first Read: a caller
// that reads a prefix (or only Stats) inflates no more than that.
type treeFile struct {
	info entryInfo
	path string
	blob *object.Blob
	r    io.ReadCloser
}

func (f *treeFile) Stat() (fs.FileInfo, error) { return f.info, nil }

func (f *treeFile) Read(p []byte) (int, error) {
	if f.blob == nil {
		return 0, &fs.PathError{Op: "read", Path: f.path, Err: fs.ErrClosed}
	}
	if f.r == nil {
		r, err := f.blob.Reader()
		if err != nil {
			return 0, &fs.PathError{Op: "read", Path: f.path, Err: err}
		}
		f.r = r
	}
	return f.r.Read(p)
}

func (f *treeFile) Close() error {
	f.blob = nil
	if f.r == nil {
		return nil
	}
	err := f.r.Close()
	f.r = nil
	return err
}

type treeDir struct {
	info entryInfo
	fs   *TreeFS
	path string
	tree *object.Tree
	read int
}

func (d *treeDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *treeDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.path, Err: fs.ErrInvalid}
}
func (d *treeDir) Close() error { return nil }

// ReadDir implements fs.ReadDirFile.
func (d *treeDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if d.tree == nil {
		if n > 0 {
			return nil, io.EOF
		}
		return nil, nil
	}
	all := d.fs.dirEntries(d.path, d.tree)[d.read:]
	if n <= 0 {
		d.read += len(all)
		return all, nil
	}
	if len(all) == 0 {
		return nil, io.EOF
	}
	if n > len(all) {
		n = len(all)
	}
	d.read += n
	return all[:n], nil
}
