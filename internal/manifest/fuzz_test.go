package manifest

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bump-gitops/bump/internal/imageref"
)

var fuzzImages = []string{
	"ghcr.io/acme/api:v1.2.3",
	"ghcr.io/acme/api:1.10",
	"ghcr.io/acme/api@sha256:2222222222222222222222222222222222222222222222222222222222222222",
	"nginx:1.27.3@sha256:3333333333333333333333333333333333333333333333333333333333333333",
	"docker.io/bitnami/redis:on",
}

const probeTag = "v9.9.9-probe"

// FuzzRewriteBytes checks the rewriter's invariants on arbitrary input:
// bytes outside the edited spans never change, comments stay as they are,
// the output still parses, and a second run is a no-op.
func FuzzRewriteBytes(f *testing.F) {
	cases, _ := filepath.Glob(filepath.Join(goldenDir, "*.txtar"))
	for _, c := range cases {
		ar, err := txtar.ParseFile(c)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range ar.Files {
			name, flags := splitName(file.Name)
			if name == "args" || strings.HasPrefix(name, "want/") {
				continue
			}
			data := applyFlags(bytes.Clone(file.Data), flags)
			for i := range fuzzImages {
				f.Add(data, uint8(i), isKustomization(name))
			}
		}
	}
	// A BOM at the start of an embedded block once shifted the edit (the
	// probe below is what catches that kind of damage).
	f.Add([]byte("helm:\n  values: |\n    \ufeffimage: ghcr.io/acme/api:v1.2.2\n"), uint8(0), false)
	f.Fuzz(func(t *testing.T, data []byte, pick uint8, kustomization bool) {
		name := "k8s/app.yaml"
		if kustomization {
			name = "k8s/kustomization.yaml"
		}
		ref, err := imageref.Parse(fuzzImages[int(pick)%len(fuzzImages)])
		if err != nil {
			t.Fatal(err)
		}
		opts := Options{Images: []imageref.Ref{ref}, AllowDowngrade: pick&0x80 != 0}
		e, err := newEngine(opts)
		if err != nil {
			t.Fatal(err)
		}
		out, edits, changes, _, err := e.rewrite(name, data, nil)
		if err != nil || out == nil {
			if len(changes) > 0 {
				t.Fatalf("changes reported without output: %v", changes)
			}
			return
		}
		if len(changes) == 0 {
			t.Fatal("output without changes")
		}
		outDocs, err := parse(name, out)
		if err != nil {
			t.Fatalf("output does not parse: %v\n%q", err, out)
		}
		checkComments(t, name, data, outDocs, edits)
		out2, changes2, _, err := RewriteBytes(name, out, opts)
		if err != nil || out2 != nil || len(changes2) > 0 {
			t.Fatalf("second run not a no-op: err=%v changes=%v\nfirst:\n%q\nsecond:\n%q", err, changes2, out, out2)
		}
		checkProbe(t, name, ref, data, out)
		checkFind(t, name, data, opts, changes)
		for _, c := range changes {
			if c.To == "" || (ref.Tag != "" && !strings.Contains(c.To, ref.Tag)) {
				t.Fatalf("change %+v does not carry the new version %s", c, ref.Version())
			}
		}
		checkUntouched(t, data, out, edits, kustomization)
	})
}

// checkComments: no edit touches a comment.
func checkComments(t *testing.T, name string, data []byte, outDocs []*yaml.Node, edits []edit) {
	t.Helper()
	// No edit touches a comment: the parser finds the same comments,
	// attached the same way, before and after. Two exceptions come from
	// kustomization entries gaining or losing a line. A stale digest's
	// line goes with its own line comment, so the comparison is with the
	// input minus the removed lines. And yaml.v3 attaches a comment line
	// to the key after it or to the one before depending on what
	// follows, so once lines come or go only the comments' text counts
	// (their bytes are checked below).
	var removed []edit
	linesMoved := false
	for _, ed := range edits {
		if ed.text == "" {
			removed = append(removed, ed)
		}
		if ed.text == "" || strings.ContainsAny(ed.text, "\r\n") {
			linesMoved = true
		}
	}
	pruned, err := splice(bytes.Clone(data), removed)
	if err != nil {
		t.Fatal(err)
	}
	inDocs, err := parse(name, pruned)
	if err != nil {
		t.Fatalf("input minus removed lines does not parse: %v", err)
	}
	before, after := comments(inDocs), comments(outDocs)
	if linesMoved {
		before, after = commentTexts(before), commentTexts(after)
	}
	if !slices.Equal(before, after) {
		t.Fatalf("comments changed:\nbefore %q\nafter  %q", before, after)
	}
}

// checkProbe: every reference is still a reference afterwards.
func checkProbe(t *testing.T, name string, ref imageref.Ref, data, out []byte) {
	t.Helper()
	// Every reference is still a reference afterwards: a probe bump to a
	// version nobody writes finds as many in the output as in the input,
	// so no edit can have spliced a reference into garbage (which the
	// no-op check above cannot see: garbage is never bumped again).
	if probeRef, err := imageref.Parse(ref.Familiar() + ":" + probeTag); err == nil && !bytes.Contains(data, []byte(probeTag)) {
		probe := Options{Images: []imageref.Ref{probeRef}, AllowDowngrade: true}
		_, inChanges, _, inErr := RewriteBytes(name, data, probe)
		_, outChanges, _, outErr := RewriteBytes(name, out, probe)
		if (inErr == nil) != (outErr == nil) || len(inChanges) != len(outChanges) {
			t.Fatalf("references before and after differ: %d (%v) vs %d (%v)\nafter:\n%q", len(inChanges), inErr, len(outChanges), outErr, out)
		}
	}
}

// checkFind: a Find for the same image reads, in the input, the version
// each change replaces.
func checkFind(t *testing.T, name string, data []byte, opts Options, changes []Change) {
	t.Helper()
	e, err := newFinder(FindOptions{Images: opts.Images})
	if err != nil {
		t.Fatal(err)
	}
	found, _, err := e.plan(name, data, nil)
	if err != nil {
		t.Fatalf("find fails where rewrite does not: %v", err)
	}
	for _, c := range changes {
		if !hasVersion(found.refs, c.File, c.Image, c.From) {
			t.Fatalf("change %+v: find read %+v", c, found.refs)
		}
	}
}

// checkUntouched: bytes outside the edited spans are unchanged.
func checkUntouched(t *testing.T, data, out []byte, edits []edit, kustomization bool) {
	t.Helper()
	// Bytes outside the edited spans are unchanged: rebuilding the input
	// from the output by undoing each edit must give the input back, and
	// no edit may cross a line break (outside kustomization key lines).
	var rebuilt []byte
	prevIn, prevOut := 0, 0
	for _, ed := range edits {
		old := data[ed.start:ed.end]
		outStart := prevOut + (ed.start - prevIn)
		if !bytes.Equal(out[prevOut:outStart], data[prevIn:ed.start]) {
			t.Fatalf("bytes outside edits changed before offset %d", ed.start)
		}
		if !bytes.Equal(out[outStart:outStart+len(ed.text)], []byte(ed.text)) {
			t.Fatalf("edit text not at its place")
		}
		rebuilt = append(rebuilt, data[prevIn:ed.start]...)
		rebuilt = append(rebuilt, old...)
		prevIn, prevOut = ed.end, outStart+len(ed.text)
		if !kustomization && (bytes.ContainsAny(old, "\r\n") || strings.ContainsAny(ed.text, "\r\n")) {
			t.Fatalf("edit crosses a line: %q -> %q", old, ed.text)
		}
	}
	if !bytes.Equal(out[prevOut:], data[prevIn:]) {
		t.Fatal("bytes after the last edit changed")
	}
	if rebuilt = append(rebuilt, data[prevIn:]...); !bytes.Equal(rebuilt, data) {
		t.Fatal("undoing the edits does not give the input back")
	}
}

// comments lists every comment of the documents in document order, with
// the slot it is attached to (head, line, foot). Aliases are not followed.
func comments(docs []*yaml.Node) []string {
	var out []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		// Positions are left out: a kustomization entry may gain a line.
		for i, c := range []string{n.HeadComment, n.LineComment, n.FootComment} {
			if c != "" {
				out = append(out, fmt.Sprintf("%c %s", "hlf"[i], c))
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	for _, d := range docs {
		walk(d)
	}
	return out
}

// commentTexts drops the slot from each of comments' entries, splits them
// into lines (a block of comment lines may be cut in two by a new key, and
// then loses the blank lines between) and sorts them.
func commentTexts(cs []string) []string {
	var out []string
	for _, c := range cs {
		for l := range strings.SplitSeq(c[2:], "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
	}
	slices.Sort(out)
	return out
}
