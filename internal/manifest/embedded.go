package manifest

import (
	"bytes"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Some manifests carry a whole YAML document as a string: Argo CD's
// Application spec.source.helm.values, the valuesContent of a k3s/RKE2
// HelmChart, and the values.yaml key of a ConfigMap or Secret that Flux's
// HelmRelease valuesFrom reads. Their image fields are bumped like any other,
// by parsing the string and splicing into the block's own lines, which works
// because a literal block scalar ("|") is the file's bytes with a fixed
// indentation taken off each line. Other string styles (quoted, folded) are
// reported as skipped: their text is not the file's text.

// embedded rewrites the YAML held by scalar n.
func (p *planner) embedded(n *yaml.Node) {
	if n == nil || n.Kind != yaml.ScalarNode || p.claimed[n] || p.e.referenced([]byte(n.Value)) == nil {
		return
	}
	p.claimed[n] = true
	if p.nested {
		// Values strings do not nest in practice, and each level parses its
		// text again, which a hostile file could make quadratic.
		p.skip(n, nil, "YAML embedded in embedded YAML is not rewritten")
		return
	}
	if n.Style&yaml.LiteralStyle == 0 {
		p.skip(n, nil, "embedded YAML is only rewritten in a literal block (|)")
		return
	}
	header, body, origins, ok := p.src.literalBlock(n)
	if !ok {
		p.skip(n, nil, "embedded YAML not rewritten: its lines cannot be mapped exactly (indentation indicator, tabs or unusual line breaks)")
		return
	}
	docs, bad := parseFile(p.name, body)
	if bad != nil {
		s := Skip{File: p.name, Line: header, Reason: "embedded YAML does not parse: " + bad.Msg}
		if bad.Line > 0 {
			s.Line += bad.Line
		}
		p.skips = append(p.skips, s)
		return
	}
	sub := &planner{e: p.e, name: p.name, src: newSource(body), claimed: map[*yaml.Node]bool{}, nested: true, found: p.found}
	for _, d := range docs {
		sub.document(d)
	}
	if r := repeatedKey(docs); r != nil && sub.matched {
		r.first, r.line = r.first+header, r.line+header
		p.warn(&yaml.Node{Line: r.line}, nil, r.reason())
	}
	p.matched = p.matched || sub.matched
	// Inner line i is the block's line i, which is line header+i of the
	// file. The text's first line starts at 0 even when newSource has
	// stepped over a BOM there.
	outer := func(off int) int {
		l := sub.src.lineOf(off) - 1
		lineStart := sub.src.lines[l]
		if l == 0 {
			lineStart = 0
		}
		return origins[l] + off - lineStart
	}
	for _, ed := range sub.edits {
		l := sub.src.lineOf(ed.start)
		if l > len(origins) || sub.src.lineOf(ed.end) != l || strings.ContainsAny(ed.text, "\r\n") {
			// Only whole-value replacements on one line can move into the
			// block unchanged; nothing else plans these, but say so if it did.
			p.skip(n, nil, "embedded YAML edit spans lines")
			return
		}
	}
	for _, ed := range sub.edits {
		p.edits = append(p.edits, edit{start: outer(ed.start), end: outer(ed.end), text: ed.text})
	}
	for _, c := range sub.changes {
		c.Line += header
		p.changes = append(p.changes, c)
	}
	for _, r := range sub.refs {
		r.Line += header
		p.refs = append(p.refs, r)
	}
	for _, s := range sub.skips {
		if s.Line > 0 {
			s.Line += header
		}
		p.skips = append(p.skips, s)
	}
}

// literalBlock returns the line of literal block scalar n's header ("|")
// and the block's text as it sits in the file (indentation removed, line
// breaks kept), with the file offset where each of its lines' text begins.
// It reports false when the block cannot be
// mapped exactly: an explicit indentation indicator, a line break other
// than LF or CRLF, or text that does not read back as the parser's value.
func (s *source) literalBlock(n *yaml.Node) (header int, body []byte, origins []int, ok bool) {
	off, err := s.offset(n.Line, n.Column)
	if err != nil {
		return 0, nil, nil, false
	}
	off = s.skipProperties(off)
	if off >= len(s.data) || s.data[off] != '|' {
		return 0, nil, nil, false
	}
	// The header: "|" with an optional chomping indicator, then a comment.
	for i := off + 1; i < len(s.data) && s.data[i] != ' ' && s.data[i] != '\t' && s.data[i] != '#' && s.data[i] != '\r' && s.data[i] != '\n'; i++ {
		if c := s.data[i]; c != '-' && c != '+' {
			return 0, nil, nil, false
		}
	}
	header = s.lineOf(off) // the block's lines follow the header's
	indent := -1
	for l := header; l < len(s.lines); l++ {
		start := s.lines[l]
		end := len(s.data)
		if l+1 < len(s.lines) {
			end = s.lines[l+1]
		}
		line := s.data[start:end]
		text := bytes.TrimRight(line, "\r\n")
		if len(line)-len(text) == 0 && end != len(s.data) || bytes.ContainsAny(text, "\r\u0085\u2028\u2029") {
			return 0, nil, nil, false
		}
		spaces := len(text) - len(bytes.TrimLeft(text, " "))
		blank := spaces == len(text)
		if indent < 0 && !blank {
			indent = spaces
			if indent == 0 {
				return 0, nil, nil, false
			}
		}
		if !blank && spaces < indent {
			break
		}
		strip := spaces // a blank line before the first text is all indentation
		if indent >= 0 {
			strip = min(spaces, indent)
		}
		origins = append(origins, start+strip)
		body = append(body, line[strip:]...)
	}
	if indent < 0 {
		return 0, nil, nil, false
	}
	// The parser's value is the same text with LF line breaks, less
	// trailing blank lines as chomping decides; anything else means this
	// reading of the block is wrong, and a wrong reading must not edit.
	got := strings.TrimRight(strings.ReplaceAll(string(body), "\r\n", "\n"), " \n")
	if got != strings.TrimRight(n.Value, " \n") {
		return 0, nil, nil, false
	}
	return header, body, origins, true
}
