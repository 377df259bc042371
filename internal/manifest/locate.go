package manifest

import (
	"bytes"
	"errors"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/kustomize/kyaml/yaml"
	k8syaml "sigs.k8s.io/yaml"
)

var bom = []byte("\xef\xbb\xbf")

// source maps the parser's line/column marks back to byte offsets in the
// original file. yaml.v3 counts columns in characters and treats NEL, LS and
// PS as line breaks, so this has to as well.
type source struct {
	data  []byte
	lines []int // byte offset of the start of each line; lines[0] is line 1
}

func newSource(data []byte) *source {
	s := &source{data: data}
	start := 0
	if bytes.HasPrefix(data, bom) {
		start = len(bom)
	}
	s.lines = append(s.lines, start)
	for i := start; i < len(data); {
		switch c := data[i]; {
		case c == '\r':
			if i+1 < len(data) && data[i+1] == '\n' {
				i++
			}
			i++
			s.lines = append(s.lines, i)
		case c == '\n':
			i++
			s.lines = append(s.lines, i)
		case c == 0xc2 && i+1 < len(data) && data[i+1] == 0x85,
			c == 0xe2 && i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xa8 || data[i+2] == 0xa9):
			_, n := utf8.DecodeRune(data[i:])
			i += n
			s.lines = append(s.lines, i)
		default:
			i++
		}
	}
	return s
}

var errLocate = errors.New("cannot locate the value in the file")

// offset returns the byte offset of a 1-based line and character column.
func (s *source) offset(line, col int) (int, error) {
	if line < 1 || line > len(s.lines) || col < 1 {
		return 0, errLocate
	}
	off := s.lines[line-1]
	for range col - 1 {
		if off >= len(s.data) {
			return 0, errLocate
		}
		_, n := utf8.DecodeRune(s.data[off:])
		off += n
	}
	return off, nil
}

// lineOf returns the 1-based line holding byte offset off.
func (s *source) lineOf(off int) int {
	lo, hi := 0, len(s.lines)
	for lo < hi {
		m := (lo + hi) / 2
		if s.lines[m] <= off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// lineEnd returns the offset just past the line break ending the line that
// holds off (len(data) on the last line), and the break itself.
func (s *source) lineEnd(off int) (int, string) {
	l := s.lineOf(off)
	if l >= len(s.lines) {
		return len(s.data), ""
	}
	next := s.lines[l]
	eol := s.data[s.lines[l-1]:next]
	for _, b := range []string{"\r\n", "\n", "\r", "\u0085", "\u2028", "\u2029"} {
		if bytes.HasSuffix(eol, []byte(b)) {
			return next, b
		}
	}
	return next, ""
}

// eol is the line break the file uses, for inserted lines.
func (s *source) eol() string {
	if i := bytes.IndexByte(s.data, '\n'); i > 0 && s.data[i-1] == '\r' {
		return "\r\n"
	}
	return "\n"
}

// span is where a scalar's text sits: [start, end) holds the bytes to
// replace. When raw is true the span is the content between the quotes (or
// the plain scalar) and equals the value, so new text can be written as is
// in the same style; otherwise the span covers the whole quoted token.
type span struct {
	start, end int
	style      yaml.Style // 0 (plain), DoubleQuotedStyle or SingleQuotedStyle
	raw        bool
	block      bool // the one text line of a block scalar: written as is
}

// scalarSpan locates scalar n in the source and checks that the bytes there
// really are the scalar, so a wrong position can never produce a wrong edit.
// errMultiLine refuses a quoted value folded over several lines: writing
// it back on one line would change lines the reviewer did not expect to
// move, and no real image reference is written that way.
var errMultiLine = errors.New("values spanning several lines are not rewritten")

func (s *source) scalarSpan(n *yaml.Node) (span, error) {
	off, err := s.offset(n.Line, n.Column)
	if err != nil {
		return span{}, err
	}
	off = s.skipProperties(off)
	d := s.data
	if off >= len(d) {
		return span{}, errLocate
	}
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return s.blockSpan(off, n)
	case n.Style&yaml.DoubleQuotedStyle != 0:
		if d[off] != '"' {
			return span{}, errLocate
		}
		end := -1
		for i := off + 1; i < len(d); i++ {
			if d[i] == '\\' {
				i++
				continue
			}
			if d[i] == '"' {
				end = i
				break
			}
		}
		if end < 0 {
			return span{}, errLocate
		}
		if bytes.ContainsAny(d[off:end], "\r\n") {
			return span{}, errMultiLine
		}
		if string(d[off+1:end]) == n.Value {
			return span{start: off + 1, end: end, style: yaml.DoubleQuotedStyle, raw: true}, nil
		}
		return span{start: off, end: end + 1, style: yaml.DoubleQuotedStyle}, nil
	case n.Style&yaml.SingleQuotedStyle != 0:
		if d[off] != '\'' {
			return span{}, errLocate
		}
		end := -1
		for i := off + 1; i < len(d); i++ {
			if d[i] == '\'' {
				if i+1 < len(d) && d[i+1] == '\'' {
					i++
					continue
				}
				end = i
				break
			}
		}
		if end < 0 {
			return span{}, errLocate
		}
		if bytes.ContainsAny(d[off:end], "\r\n") {
			return span{}, errMultiLine
		}
		if string(d[off+1:end]) == n.Value {
			return span{start: off + 1, end: end, style: yaml.SingleQuotedStyle, raw: true}, nil
		}
		return span{start: off, end: end + 1, style: yaml.SingleQuotedStyle}, nil
	default:
		if n.Value == "" || strings.ContainsAny(n.Value, "\r\n\u0085\u2028\u2029") {
			return span{}, errLocate
		}
		if end := off + len(n.Value); end <= len(d) && string(d[off:end]) == n.Value {
			return span{start: off, end: end, raw: true}, nil
		}
		return span{}, errLocate
	}
}

var errBlock = errors.New("block scalar values spanning several lines are not rewritten")

// blockSpan locates a block scalar ("|" or ">", header at off) whose text
// is a single line: that line, less its indentation, is the value (a
// folded line is not folded with anything), so it can be replaced in place.
func (s *source) blockSpan(off int, n *yaml.Node) (span, error) {
	d := s.data
	if d[off] != '|' && d[off] != '>' {
		return span{}, errLocate
	}
	var text []byte
	start, indent := -1, 0
	for l := s.lineOf(off); l < len(s.lines); l++ { // lines[l] starts the line after the header's
		end := len(d)
		if l+1 < len(s.lines) {
			end = s.lines[l+1]
		}
		line := bytes.TrimRight(d[s.lines[l]:end], "\r\n")
		content := bytes.TrimLeft(line, " ")
		if len(content) == 0 {
			continue // blank lines belong to the block or end it; neither is text
		}
		if start >= 0 {
			if len(line)-len(content) >= indent {
				return span{}, errBlock // a second line of text
			}
			break // less indented: the block has ended
		}
		indent = len(line) - len(content)
		start = s.lines[l] + indent
		text = content
	}
	// The parser's value must be exactly that line (chomped with "-"), so
	// no reading of the block can be wrong and go unnoticed.
	if start < 0 || string(text) != n.Value || bytes.ContainsAny(text, "\t\u0085\u2028\u2029") {
		return span{}, errBlock
	}
	return span{start: start, end: start + len(text), raw: true, block: true}, nil
}

// skipProperties moves past an anchor (&a) or tag (!t) in front of a value:
// yaml.v3 reports the value's position at its first property.
func (s *source) skipProperties(off int) int {
	d := s.data
	for off < len(d) && (d[off] == '&' || d[off] == '!') {
		for off < len(d) && !isSpace(d[off]) {
			off++
		}
		for off < len(d) && isSpace(d[off]) {
			off++
		}
	}
	return off
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// replacement returns the bytes to replace and the text that makes the
// scalar at sp read back as value. It keeps the scalar's style when the value
// allows it; a plain value that YAML would not read back as the same string
// (1.10, on, 123) is double-quoted, since Helm would otherwise render 1.1.
func replacement(sp span, value string) (start, end int, text string) {
	if sp.block {
		return sp.start, sp.end, value // setScalar checked blockSafe
	}
	if !sp.raw {
		return sp.start, sp.end, doubleQuote(value)
	}
	switch sp.style {
	case yaml.DoubleQuotedStyle:
		if !strings.ContainsAny(value, "\"\\") && isPrintable(value) {
			return sp.start, sp.end, value
		}
		return sp.start - 1, sp.end + 1, doubleQuote(value)
	case yaml.SingleQuotedStyle:
		if !strings.Contains(value, "'") && isPrintable(value) {
			return sp.start, sp.end, value
		}
		return sp.start - 1, sp.end + 1, doubleQuote(value)
	default:
		if plainSafe(value) {
			return sp.start, sp.end, value
		}
		return sp.start, sp.end, doubleQuote(value)
	}
}

// blockSafe reports whether value reads back as itself as the one line of
// a block scalar.
func blockSafe(value string) bool {
	return value != "" && isPrintable(value) && strings.TrimSpace(value) == value
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return false
		}
	}
	return true
}

func doubleQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&0xf])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// plainSafe reports whether value can be written as a plain scalar, in block
// or flow context, and be read back as the same string by both YAML 1.2
// (yaml.v3, kubectl) and YAML 1.1 (Helm via sigs.k8s.io/yaml).
func plainSafe(value string) bool {
	if value == "" || !isPrintable(value) || strings.ContainsAny(value, " \t,[]{}#") ||
		strings.ContainsRune("-?:&*!|>'\"%@`", rune(value[0])) || strings.HasSuffix(value, ":") {
		return false
	}
	// No YAML number, boolean or null contains a slash: full references
	// skip the (comparatively slow) resolver round trips.
	if strings.Contains(value, "/") {
		return true
	}
	var v3 map[string]any
	if err := yaml.Unmarshal([]byte("v: "+value), &v3); err != nil {
		return false
	}
	if s, ok := v3["v"].(string); !ok || s != value {
		return false
	}
	var v1 map[string]any
	if err := k8syaml.Unmarshal([]byte("v: "+value), &v1); err != nil {
		return false
	}
	s, ok := v1["v"].(string)
	return ok && s == value
}
