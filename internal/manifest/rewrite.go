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
	t, err := e.scan(ctx, fsys, opts.Paths)
	if err != nil {
		return nil, err
	}
	res := Result{Files: t.files, Changes: t.changes, NotFound: t.notFound(e)}
	slices.SortFunc(res.Files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	slices.SortStableFunc(res.Changes, func(a, b Change) int {
		return cmp.Or(strings.Compare(a.File, b.File), a.Line-b.Line)
	})
	res.Skipped, res.Warnings = splitWarnings(sortSkips(t.skips))
	return &res, nil
}

func sortSkips(skips []Skip) []Skip {
	slices.SortStableFunc(skips, func(a, b Skip) int {
		return cmp.Or(strings.Compare(a.File, b.File), a.Line-b.Line)
	})
	return skips
}

// tally collects what the workers of one scan find, under its lock.
type tally struct {
	mu      sync.Mutex
	files   []File
	changes []Change
	refs    []Reference
	skips   []Skip
	invalid []*ParseError
	failure error
	found   []bool // per target: some reference names it
}

// add records one file's outcome, or its error: a parse error is kept
// to report with the others, anything else stops the scan.
func (t *tally) add(out fileOutcome, err error, cancel context.CancelFunc) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var pe *ParseError
	switch {
	case errors.As(err, &pe):
		t.invalid = append(t.invalid, pe)
	case err != nil:
		if t.failure == nil {
			t.failure = err
		}
		cancel()
	default:
		if out.file.Data != nil {
			t.files = append(t.files, out.file)
		}
		t.changes = append(t.changes, out.changes...)
		t.refs = append(t.refs, out.refs...)
		t.skips = append(t.skips, out.skips...)
	}
}

func (t *tally) skip(s Skip) {
	t.mu.Lock()
	t.skips = append(t.skips, s)
	t.mu.Unlock()
}

func (t *tally) markFound(found []bool) {
	t.mu.Lock()
	for i, f := range found {
		t.found[i] = t.found[i] || f
	}
	t.mu.Unlock()
}

// notFound lists the targets no reference named, in the order given.
func (t *tally) notFound(e *engine) []string {
	var out []string
	for i, f := range t.found {
		if !f {
			out = append(out, e.targets[i].image)
		}
	}
	return out
}

// scan walks the paths of fsys and runs every manifest file through e on a
// pool of workers. Rewrite and Find share it; e decides what a file yields.
func (e *engine) scan(ctx context.Context, fsys fs.FS, paths []string) (*tally, error) {
	roots, err := cleanRoots(paths)
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
	t := &tally{found: make([]bool, len(e.targets))}
	jobs := make(chan string, 64)
	// File reads are mostly syscalls; a couple of workers per core keeps the
	// disk and the CPU busy without unbounded memory (one buffer each).
	workers := min(4*runtime.GOMAXPROCS(0), 8)
	budget := semaphore.NewWeighted(parseBudget)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { e.work(ctx, cancel, fsys, jobs, budget, t) })
	}
	walkErr := walkRoots(ctx, fsys, roots, jobs, t)
	close(jobs)
	wg.Wait()

	switch {
	case t.failure != nil:
		return nil, t.failure
	case walkErr != nil:
		return nil, walkErr
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case len(t.invalid) > 0:
		return nil, newInvalidFilesError(t.invalid)
	}
	return t, nil
}

// work is one worker: it reads and plans the files of jobs until the
// channel closes, and drains it without work once the scan is cancelled.
func (e *engine) work(ctx context.Context, cancel context.CancelFunc, fsys fs.FS, jobs <-chan string, budget *semaphore.Weighted, t *tally) {
	var buf []byte
	mine := make([]bool, len(e.targets))
	defer t.markFound(mine)
	for name := range jobs {
		if ctx.Err() != nil {
			continue
		}
		var (
			out fileOutcome
			err error
		)
		out, buf, err = e.readAndRewrite(ctx, fsys, name, buf, mine, budget)
		t.add(out, err, cancel)
	}
}

// walkRoots sends every manifest file under roots to jobs, once each,
// skipping .git and reporting symlinks (never followed) in t.
func walkRoots(ctx context.Context, fsys fs.FS, roots []string, jobs chan<- string, t *tally) error {
	seen := map[string]bool{}
	for _, root := range roots {
		err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
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
					t.skip(Skip{File: p, Reason: "symlink (not followed)"})
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
		if err != nil {
			return err
		}
	}
	return nil
}

// fileOutcome is what one file yields: its new content when it changes,
// the changes (Rewrite) or references (Find), and the skips.
type fileOutcome struct {
	file    File
	changes []Change
	refs    []Reference
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
// files cost no allocation) and plans it. It returns the grown buffer.
// A parse first takes its estimated cost from budget.
func (e *engine) readAndRewrite(ctx context.Context, fsys fs.FS, name string, buf []byte, found []bool, budget *semaphore.Weighted) (fileOutcome, []byte, error) {
	data, mode, skip, err := e.read(fsys, name, buf)
	if data != nil {
		buf = data[:0]
	}
	if err != nil || skip != nil {
		return skip.outcome(), buf, err
	}
	if e.mentions(data) {
		cost, skip := parseWeight(name, data)
		if skip != nil {
			return skip.outcome(), buf, nil
		}
		if err := budget.Acquire(ctx, cost); err != nil {
			return fileOutcome{}, buf, err
		}
		defer budget.Release(cost)
	}
	out, _, err := e.plan(name, data, found)
	if err != nil {
		return fileOutcome{}, buf, err
	}
	out.file.Mode = mode
	return out, buf, nil
}

// outcome is a file's outcome when this skip is all it yields.
func (s *Skip) outcome() fileOutcome {
	if s == nil {
		return fileOutcome{}
	}
	return fileOutcome{skips: []Skip{*s}}
}

// read reads file name into buf, up to the size limit: a larger file is a
// skip, not data.
func (e *engine) read(fsys fs.FS, name string, buf []byte) ([]byte, fs.FileMode, *Skip, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	limit := e.opts.maxFileSize()
	tooLarge := func() *Skip { return &Skip{File: name, Reason: fmt.Sprintf("file larger than %d bytes", limit)} }
	// The size from Stat skips a large file before reading a byte of it
	// (in a git tree, before inflating a blob that may be a zip bomb);
	// the limit is still enforced on what is read.
	st, err := f.Stat()
	if err != nil {
		return nil, 0, nil, fmt.Errorf("stat %s: %w", name, err)
	}
	if st.Size() > limit {
		return nil, 0, tooLarge(), nil
	}
	if cap(buf) == 0 {
		buf = make([]byte, 0, 16<<10)
	}
	b := bytes.NewBuffer(buf[:0])
	n, err := b.ReadFrom(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, 0, nil, fmt.Errorf("read %s: %w", name, err)
	}
	if n > limit {
		return b.Bytes(), 0, tooLarge(), nil
	}
	return b.Bytes(), st.Mode().Perm(), nil, nil
}

// parseWeight is the share of the parse budget a parse of data takes, or
// the skip of a file too large in documents or nodes to parse at all.
func parseWeight(name string, data []byte) (int64, *Skip) {
	if documents(data, maxDocuments) > maxDocuments {
		return 0, &Skip{File: name, Reason: fmt.Sprintf("more than %d YAML documents", maxDocuments)}
	}
	nodes := yamlNodes(data)
	if nodes > maxNodes {
		return 0, &Skip{File: name, Reason: fmt.Sprintf("more than %d YAML nodes", maxNodes)}
	}
	return min(parseCost(nodes, data), parseBudget), nil
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
