package manifest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/semaphore"
)

// Rewrite finds and rewrites the images of opts in fsys. It only reads fsys;
// the new content of changed files is in the Result. Malformed YAML that
// mentions an image fails the whole run (so nothing gets written) unless
// opts.SkipInvalid is set. Rewrite is safe to call concurrently.
func Rewrite(ctx context.Context, fsys fs.FS, opts Options) (*Result, error) {
	e, err := newEngine(opts)
	if err != nil {
		return nil, err
	}
	roots, err := cleanRoots(opts.Paths)
	if err != nil {
		return nil, err
	}
	for _, root := range roots {
		if err := checkRoot(fsys, root); err != nil {
			return nil, err
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan string, 64)
	var (
		mu      sync.Mutex
		res     Result
		invalid []*ParseError
		failure error
		found   = make([]bool, len(e.targets))
	)
	fail := func(err error) {
		mu.Lock()
		if failure == nil {
			failure = err
		}
		mu.Unlock()
		cancel()
	}
	// File reads are mostly syscalls; a couple of workers per core keeps the
	// disk and the CPU busy without unbounded memory (one buffer each).
	workers := min(4*runtime.GOMAXPROCS(0), 8)
	budget := semaphore.NewWeighted(parseBudget)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var buf []byte
			mine := make([]bool, len(e.targets))
			defer func() {
				mu.Lock()
				for i, f := range mine {
					found[i] = found[i] || f
				}
				mu.Unlock()
			}()
			for name := range jobs {
				if ctx.Err() != nil {
					continue
				}
				var (
					f   File
					out fileOutcome
					err error
				)
				f, out, buf, err = e.readAndRewrite(ctx, fsys, name, buf, mine, budget)
				if err != nil {
					var pe *ParseError
					if errors.As(err, &pe) {
						mu.Lock()
						invalid = append(invalid, pe)
						mu.Unlock()
						continue
					}
					fail(err)
					continue
				}
				mu.Lock()
				if f.Data != nil {
					res.Files = append(res.Files, f)
				}
				res.Changes = append(res.Changes, out.changes...)
				res.Skipped = append(res.Skipped, out.skips...)
				mu.Unlock()
			}
		})
	}

	seen := map[string]bool{}
	var walkErr error
	for _, root := range roots {
		walkErr = fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("walk %s: %w", p, err)
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			switch {
			case d.Type()&fs.ModeSymlink != 0:
				if !seen[p] {
					seen[p] = true
					mu.Lock()
					res.Skipped = append(res.Skipped, Skip{File: p, Reason: "symlink (not followed)"})
					mu.Unlock()
				}
				return nil
			case d.IsDir():
				if d.Name() == ".git" {
					return fs.SkipDir
				}
				return nil
			case !d.Type().IsRegular() || !isManifestName(p) || seen[p]:
				return nil
			}
			seen[p] = true
			select {
			case jobs <- p:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if walkErr != nil {
			break
		}
	}
	close(jobs)
	wg.Wait()

	if failure != nil {
		return nil, failure
	}
	if walkErr != nil {
		return nil, walkErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(invalid) > 0 {
		return nil, newInvalidFilesError(invalid)
	}
	for i, f := range found {
		if !f {
			res.NotFound = append(res.NotFound, e.targets[i].image)
		}
	}
	slices.SortFunc(res.Files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	slices.SortStableFunc(res.Changes, func(a, b Change) int {
		return cmp.Or(strings.Compare(a.File, b.File), a.Line-b.Line)
	})
	slices.SortStableFunc(res.Skipped, func(a, b Skip) int {
		return cmp.Or(strings.Compare(a.File, b.File), a.Line-b.Line)
	})
	res.Skipped, res.Warnings = splitWarnings(res.Skipped)
	return &res, nil
}

type fileOutcome struct {
	changes []Change
	skips   []Skip
}

// parseBudget bounds the memory of the parses in flight in one Rewrite,
// as estimated by parseCost: workers wait for their share of it, so a few
// large files are parsed one after another rather than side by side. A
// file whose estimate exceeds the whole budget still runs, alone.
const parseBudget = 256 << 20

// parseCost estimates the memory a rewrite of data takes: two node trees
// (the file's, and the rewritten text's, parsed again to check it) of
// about 160 bytes a node as yaml.v3 builds them (measured on one-letter
// flow sequences), plus the copies of the text.
func parseCost(nodes int, data []byte) int64 { return int64(nodes)*320 + int64(len(data))*4 }

// maxNodes is the most YAML nodes (as yamlNodes counts them) bump parses
// in one file: several MiB of ordinary manifests (20 to 40 bytes a line,
// one or two nodes each), while 8 MiB of one-letter scalars would cost
// over a gigabyte and a minute.
const maxNodes = 500_000

// yamlNodes counts the places a YAML node can start: after a line break or
// an indicator. Every node but the first of a document needs one, so this
// bounds the node count from above (loosely: comments and text count too).
func yamlNodes(data []byte) int {
	n := 0
	for _, c := range data {
		switch c {
		case '\n', ',', '[', '{', ':', '-':
			n++
		}
	}
	return n
}

// maxDocuments is the most YAML documents bump parses in one file. Each
// document costs a parser a node tree of its own, so a file of millions of
// "---" lines costs gigabytes; real manifests have hundreds at most.
const maxDocuments = 10_000

// documents counts the YAML documents in data, stopping past max: one per
// line that starts one ("---" alone or followed by a space), and one more
// if text comes before the first such line.
func documents(data []byte, max int) int {
	n := 0
	if len(data) > 0 && !isDocumentStart(data) {
		n = 1
	}
	for len(data) > 0 && n <= max {
		if isDocumentStart(data) {
			n++
		}
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		data = data[i+1:]
	}
	return n
}

func isDocumentStart(line []byte) bool {
	return bytes.HasPrefix(line, []byte("---")) &&
		(len(line) == 3 || line[3] == '\n' || line[3] == '\r' || line[3] == ' ' || line[3] == '\t')
}

// readAndRewrite reads one file into buf (reused between files, so unchanged
// files cost no allocation) and rewrites it. It returns the grown buffer.
// A parse first takes its estimated cost from budget.
func (e *engine) readAndRewrite(ctx context.Context, fsys fs.FS, name string, buf []byte, found []bool, budget *semaphore.Weighted) (File, fileOutcome, []byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return File{}, fileOutcome{}, buf, fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	limit := e.opts.maxFileSize()
	tooLarge := fileOutcome{skips: []Skip{{File: name, Reason: fmt.Sprintf("file larger than %d bytes", limit)}}}
	// The size from Stat skips a large file before reading a byte of it
	// (in a git tree, before inflating a blob that may be a zip bomb);
	// the limit is still enforced on what is read.
	st, err := f.Stat()
	if err != nil {
		return File{}, fileOutcome{}, buf, fmt.Errorf("stat %s: %w", name, err)
	}
	if st.Size() > limit {
		return File{}, tooLarge, buf, nil
	}
	if cap(buf) == 0 {
		buf = make([]byte, 0, 16<<10)
	}
	b := bytes.NewBuffer(buf[:0])
	n, err := b.ReadFrom(io.LimitReader(f, limit+1))
	if err != nil {
		return File{}, fileOutcome{}, buf, fmt.Errorf("read %s: %w", name, err)
	}
	data := b.Bytes()
	buf = data[:0]
	if n > limit {
		return File{}, tooLarge, buf, nil
	}
	if e.mentions(data) {
		if documents(data, maxDocuments) > maxDocuments {
			return File{}, fileOutcome{skips: []Skip{{File: name, Reason: fmt.Sprintf("more than %d YAML documents", maxDocuments)}}}, buf, nil
		}
		nodes := yamlNodes(data)
		if nodes > maxNodes {
			return File{}, fileOutcome{skips: []Skip{{File: name, Reason: fmt.Sprintf("more than %d YAML nodes", maxNodes)}}}, buf, nil
		}
		cost := min(parseCost(nodes, data), parseBudget)
		if err := budget.Acquire(ctx, cost); err != nil {
			return File{}, fileOutcome{}, buf, err
		}
		defer budget.Release(cost)
	}
	out, changes, skips, err := e.file(name, data, found)
	if err != nil {
		return File{}, fileOutcome{}, buf, err
	}
	res := fileOutcome{changes: changes, skips: skips}
	if out == nil {
		return File{}, res, buf, nil
	}
	return File{Path: name, Data: out, Mode: st.Mode().Perm()}, res, buf, nil
}

// cleanRoots validates --path values: relative, inside the tree.
func cleanRoots(paths []string) ([]string, error) {
	if len(paths) == 0 {
		return []string{"."}, nil
	}
	var roots []string
	for _, p := range paths {
		s := filepath.ToSlash(p)
		if s == "" || path.IsAbs(s) || filepath.IsAbs(p) || filepath.VolumeName(p) != "" {
			return nil, fmt.Errorf("path %q: must be relative to the repository root", p)
		}
		s = path.Clean(s)
		if s == ".." || strings.HasPrefix(s, "../") || !fs.ValidPath(s) {
			return nil, fmt.Errorf("path %q: escapes the repository", p)
		}
		if !slices.Contains(roots, s) {
			roots = append(roots, s)
		}
	}
	return roots, nil
}

// ErrNoPath means a path to look under does not exist in the tree; the
// caller asked for something that is not there, which is a usage mistake.
var ErrNoPath = errors.New("no such file or directory in the repository")

// checkRoot makes sure a --path exists and reaches it without following a
// symlink (fs.WalkDir would follow one given as its root).
func checkRoot(fsys fs.FS, root string) error {
	if root == "." {
		return nil
	}
	if rl, ok := fsys.(fs.ReadLinkFS); ok {
		parts := strings.Split(root, "/")
		for i := range parts {
			p := strings.Join(parts[:i+1], "/")
			info, err := rl.Lstat(p)
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("path %q: %w", root, ErrNoPath)
			}
			if err != nil {
				return fmt.Errorf("path %q: %w", root, err)
			}
			if info.Mode()&fs.ModeSymlink != 0 {
				return fmt.Errorf("path %q: %s is a symlink, which bump does not follow", root, p)
			}
		}
		return nil
	}
	if _, err := fs.Stat(fsys, root); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("path %q: %w", root, ErrNoPath)
	} else if err != nil {
		return fmt.Errorf("path %q: %w", root, err)
	}
	return nil
}
