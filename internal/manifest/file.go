package manifest

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bump-gitops/bump/internal/imageref"
)

// target is one --image with the token files are screened for.
type target struct {
	index int // in engine.targets
	ref   imageref.Ref
	image string // familiar name, for Change.Image
	token []byte
}

// engine holds what is derived once from Options; it is read-only, so one
// engine serves every worker.
type engine struct {
	opts    Options
	targets []target
	find    bool // record the references found instead of planning edits
	every   bool // find: no targets, every reference the rules recognise counts
}

func newEngine(opts Options) (*engine, error) {
	if len(opts.Images) == 0 {
		return nil, errors.New("no image to bump")
	}
	e := &engine{opts: opts}
	for _, r := range opts.Images {
		if r.Name == "" || (r.Tag == "" && r.Digest == "") {
			return nil, fmt.Errorf("image %q: needs a name and a tag or digest", r.String())
		}
		e.targets = append(e.targets, target{index: len(e.targets), ref: r, image: r.Familiar(), token: []byte(r.Path())})
	}
	return e, nil
}

// mentions reports whether data may hold a reference to one of the images.
// Every spelling of a repository contains its path, so a file without any
// path cannot hold one; this screen keeps unrelated files from being parsed.
func (e *engine) mentions(data []byte) bool {
	if e.every {
		return mentionsAny(data)
	}
	for _, t := range e.targets {
		if bytes.Contains(data, t.token) {
			return true
		}
	}
	return false
}

// referenced returns the first target that data really refers to, or nil.
// mentions is only a screen; before a file that does not parse can stop
// the run, the repository must be written as a name of its own (not part
// of ghcr.io/acme/api-worker, not in a "#" comment), the way matching
// reads names.
func (e *engine) referenced(data []byte) *target {
	if e.every {
		if mentionsAny(data) {
			return &anyImage
		}
		return nil
	}
	for i := range e.targets {
		if refersTo(data, &e.targets[i]) {
			return &e.targets[i]
		}
	}
	return nil
}

// mentionsAny is the screen of a Find for every image: each rule reads a
// key or comment that holds one of these words ("image" in image and
// images, a Helm map's repository, a "# bump:" marker), as written in
// the file or in a literal block it embeds.
func mentionsAny(data []byte) bool {
	return bytes.Contains(data, []byte("image")) || bytes.Contains(data, []byte("repository")) ||
		bytes.Contains(data, []byte("bump:"))
}

// anyImage is what a file refers to when a Find looks for every image:
// no name, and no flag in found.
var anyImage = target{index: -1}

func refersTo(data []byte, t *target) bool {
	for off := 0; off < len(data); {
		i := bytes.Index(data[off:], t.token)
		if i < 0 {
			return false
		}
		i += off
		off = i + 1
		start, end := i, i+len(t.token)
		for start > 0 && isRefChar(data[start-1]) {
			start--
		}
		for end < len(data) && isRefChar(data[end]) {
			end++
		}
		if inComment(data, start) {
			continue
		}
		w, ok := imageref.Split(strings.TrimRight(string(data[start:end]), ".:"))
		if !ok {
			continue
		}
		// A name without its registry is a Helm repository beside a
		// registry key: the path alone counts.
		if t.ref.Matches(w.Name) || w.Name == string(t.token) {
			return true
		}
	}
	return false
}

// isRefChar reports whether c can be part of a written reference.
func isRefChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '-' || c == '/' || c == ':' || c == '@'
}

// inComment reports whether offset off of data follows a "#" that starts a
// comment on its line (at the line's start or after a blank).
func inComment(data []byte, off int) bool {
	ls := bytes.LastIndexAny(data[:off], "\r\n") + 1
	for j := ls; j < off; j++ {
		if data[j] == '#' && (j == ls || data[j-1] == ' ' || data[j-1] == '\t') {
			return true
		}
	}
	return false
}

// InvalidFilesError lists every malformed file that refers to an image:
// the run stops on all of them at once, so one fix-and-rerun suffices.
type InvalidFilesError struct {
	Files []*ParseError // sorted by file, line
}

func newInvalidFilesError(files []*ParseError) *InvalidFilesError {
	slices.SortFunc(files, func(a, b *ParseError) int {
		return cmp.Or(strings.Compare(a.File, b.File), a.Line-b.Line)
	})
	return &InvalidFilesError{Files: files}
}

func (e *InvalidFilesError) Error() string {
	if len(e.Files) == 1 {
		return e.Files[0].Error() + " (--skip-invalid skips it and rewrites the rest)"
	}
	parts := make([]string, len(e.Files))
	for i, f := range e.Files {
		parts[i] = f.Error()
	}
	return fmt.Sprintf("%d files that refer to the image do not parse (--skip-invalid skips them and rewrites the rest): %s", len(e.Files), strings.Join(parts, "; "))
}

// Unwrap gives errors.As each file's *ParseError.
func (e *InvalidFilesError) Unwrap() []error {
	out := make([]error, len(e.Files))
	for i, f := range e.Files {
		out[i] = f
	}
	return out
}

// ParseError is malformed YAML in a file that refers to an image.
type ParseError struct {
	File string
	Line int // 0 when the parser gave none
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: parse yaml: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: parse yaml: %s", e.File, e.Msg)
}

var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func newParseError(file string, err error) *ParseError {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if m := yamlErrLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &ParseError{File: file, Line: line, Msg: m[2]}
	}
	return &ParseError{File: file, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// RewriteBytes rewrites one file's content. name is the slash path used in
// Changes and errors and decides whether the file is a kustomization. It
// returns the new content (nil when nothing changes). Malformed YAML that
// mentions an image is a *ParseError unless opts.SkipInvalid is set.
func RewriteBytes(name string, data []byte, opts Options) ([]byte, []Change, []Skip, error) {
	e, err := newEngine(opts)
	if err != nil {
		return nil, nil, nil, err
	}
	if int64(len(data)) > opts.maxFileSize() {
		return nil, nil, []Skip{{File: name, Reason: fmt.Sprintf("file larger than %d bytes", opts.maxFileSize())}}, nil
	}
	return e.file(name, data, nil)
}

// file rewrites one file. found, when not nil, has one flag per target,
// set for each target a reference in the file names.
func (e *engine) file(name string, data []byte, found []bool) ([]byte, []Change, []Skip, error) {
	out, _, err := e.plan(name, data, found)
	return out.file.Data, out.changes, out.skips, err
}

// rewrite is file that also returns the applied edits, for tests.
func (e *engine) rewrite(name string, data []byte, found []bool) ([]byte, []edit, []Change, []Skip, error) {
	out, edits, err := e.plan(name, data, found)
	return out.file.Data, edits, out.changes, out.skips, err
}

// plan reads one file: its references (Find), or its new content (in
// out.file.Data, nil when nothing changes) with the edits that make it.
func (e *engine) plan(name string, data []byte, found []bool) (fileOutcome, []edit, error) {
	if bytes.IndexByte(data, 0) >= 0 {
		return fileOutcome{skips: []Skip{{File: name, Reason: "binary file (NUL byte)"}}}, nil, nil
	}
	if !e.mentions(data) {
		return fileOutcome{}, nil, nil
	}
	if isTemplatePath(name) && bytes.Contains(data, []byte("{{")) {
		t := e.referenced(data)
		if t == nil {
			return fileOutcome{}, nil, nil
		}
		return fileOutcome{skips: []Skip{{File: name, Image: t.image, Reason: "template file"}}}, nil, nil
	}
	if !utf8.Valid(data) {
		return e.invalid(data, found, &ParseError{File: name, Line: invalidUTF8Line(data), Msg: "invalid UTF-8"})
	}
	docs, perr := parseFile(name, data)
	if perr != nil {
		return e.invalid(data, found, perr)
	}
	p := &planner{e: e, name: name, src: newSource(data), claimed: map[*yaml.Node]bool{}, kustomization: isKustomization(name), found: found}
	for _, d := range docs {
		p.document(d)
	}
	if r := repeatedKey(docs); r != nil && p.matched && !e.find {
		p.warn(&yaml.Node{Line: r.line}, nil, r.reason())
	}
	p.edits = mergeDeletions(p.edits)
	res := fileOutcome{changes: p.changes, refs: p.refs, skips: p.skips}
	if len(p.edits) == 0 {
		return res, nil, nil
	}
	out, err := splice(data, p.edits)
	if err != nil {
		return fileOutcome{}, nil, fmt.Errorf("%s: %w", name, err)
	}
	// A rewrite that breaks the file is a bug; refuse it rather than write it.
	if _, err := parse(name, out); err != nil {
		return fileOutcome{}, nil, fmt.Errorf("%s: rewrite would produce invalid yaml (%v); please report this file", name, err)
	}
	slices.SortStableFunc(res.changes, func(a, b Change) int { return a.Line - b.Line })
	res.file = File{Path: name, Data: out}
	return res, p.edits, nil
}

// invalid handles a file that does not parse: none of bump's business
// unless it refers to an image, then a skip or the parse error.
func (e *engine) invalid(data []byte, found []bool, err *ParseError) (fileOutcome, []edit, error) {
	t := e.referenced(data)
	if t == nil {
		return fileOutcome{}, nil, nil // the image is not in it: none of bump's business
	}
	if found != nil && t.index >= 0 {
		found[t.index] = true // it is there, only left alone: not a typo
	}
	name := err.File
	if bytes.Contains(data, []byte("{{")) {
		// Not YAML until a template engine runs; not ours to judge.
		return fileOutcome{skips: []Skip{{File: name, Line: err.Line, Image: t.image, Reason: "template file"}}}, nil, nil
	}
	if e.opts.SkipInvalid {
		return fileOutcome{skips: []Skip{{File: name, Line: err.Line, Image: t.image, Reason: "invalid yaml: " + err.Msg}}}, nil, nil
	}
	return fileOutcome{}, nil, err
}

func invalidUTF8Line(data []byte) int {
	line := 1
	for len(data) > 0 {
		r, n := utf8.DecodeRune(data)
		if r == utf8.RuneError && n <= 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		data = data[n:]
	}
	return 0
}

// parse decodes every document of a YAML stream (JSON is YAML) into nodes.
// Aliases stay alias nodes; nothing is expanded.
func parse(name string, data []byte) ([]*yaml.Node, error) {
	in := data
	// yaml.v3 refuses "%YAML 1.2" though it reads 1.2 documents; a same-length
	// copy keeps every position intact.
	if bytes.Contains(data, []byte("%YAML 1.2")) {
		in = bytes.ReplaceAll(data, []byte("%YAML 1.2"), []byte("%YAML 1.1"))
	}
	// JSON allows tabs between tokens where YAML forbids them as indentation;
	// outside strings they are only whitespace, and inside strings JSON
	// requires them escaped, so blanking them keeps the meaning and positions.
	if path.Ext(name) == ".json" && bytes.IndexByte(in, '\t') >= 0 {
		in = bytes.ReplaceAll(in, []byte("\t"), []byte(" "))
	}
	dec := yaml.NewDecoder(bytes.NewReader(in))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, &n)
	}
}

// parseFile parses data as bump requires of a file it edits: well-formed
// YAML. A mapping may repeat a key (see repeatedKey).
func parseFile(name string, data []byte) ([]*yaml.Node, *ParseError) {
	docs, err := parse(name, data)
	if err != nil {
		return nil, newParseError(name, err)
	}
	return docs, nil
}

// repeat is a mapping key written twice.
type repeat struct {
	key         string
	first, line int
}

func (r *repeat) reason() string {
	return fmt.Sprintf("repeats the mapping key %q (lines %d and %d): readers keep one copy, so bump rewrote the image in every copy; remove the duplicate", r.key, r.first, r.line)
}

// repeatedKey finds the first mapping key written twice. The YAML spec
// forbids it, yet files that kubectl and Argo CD apply do it (a Service's
// selector twice), and yaml.v3 builds the node tree without complaint; the
// planner rewrites every copy, so whichever copy a reader keeps is new.
func repeatedKey(docs []*yaml.Node) *repeat {
	type key struct{ tag, value string }
	var walk func(n *yaml.Node) *repeat
	walk = func(n *yaml.Node) *repeat {
		if n.Kind == yaml.MappingNode {
			seen := make(map[key]int, len(n.Content)/2)
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Kind != yaml.ScalarNode || k.Value == "<<" {
					continue
				}
				id := key{k.ShortTag(), k.Value}
				if first, ok := seen[id]; ok {
					return &repeat{key: k.Value, first: first, line: k.Line}
				}
				seen[id] = k.Line
			}
		}
		// Aliases are not followed (n.Content of an alias is empty), so a
		// YAML bomb costs no more here than its text.
		for _, c := range n.Content {
			if r := walk(c); r != nil {
				return r
			}
		}
		return nil
	}
	for _, d := range docs {
		if r := walk(d); r != nil {
			return r
		}
	}
	return nil
}

func isKustomization(name string) bool {
	switch path.Base(name) {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
		return true
	}
	return false
}

func isTemplatePath(name string) bool {
	return strings.HasPrefix(name, "templates/") || strings.Contains(name, "/templates/")
}

// isManifestName reports whether a file name is one bump reads.
func isManifestName(name string) bool {
	if isKustomization(name) {
		return true
	}
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

type edit struct {
	start, end int
	text       string
}

// mergeDeletions sorts edits and merges deletions that overlap: removing
// two repeated lines at the end of a file takes the same line break twice.
func mergeDeletions(edits []edit) []edit {
	slices.SortStableFunc(edits, func(a, b edit) int { return a.start - b.start })
	out := edits[:0]
	for _, ed := range edits {
		if n := len(out); n > 0 && ed.text == "" && out[n-1].text == "" && ed.start < out[n-1].end {
			out[n-1].end = max(out[n-1].end, ed.end)
			continue
		}
		out = append(out, ed)
	}
	return out
}

// splice applies non-overlapping edits to data.
func splice(data []byte, edits []edit) ([]byte, error) {
	slices.SortStableFunc(edits, func(a, b edit) int { return a.start - b.start })
	size := len(data)
	for i, ed := range edits {
		if ed.start < 0 || ed.end < ed.start || ed.end > len(data) || (i > 0 && ed.start < edits[i-1].end) {
			return nil, fmt.Errorf("overlapping edits at byte %d", ed.start)
		}
		size += len(ed.text) - (ed.end - ed.start)
	}
	out := make([]byte, 0, size)
	prev := 0
	for _, ed := range edits {
		out = append(out, data[prev:ed.start]...)
		out = append(out, ed.text...)
		prev = ed.end
	}
	return append(out, data[prev:]...), nil
}
