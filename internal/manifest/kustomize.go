package manifest

import (
	"errors"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bump-gitops/bump/internal/imageref"
)

// kustomizeEntry handles rule 2: an images: entry of a kustomization,
// matched on name or newName. Missing keys are added in the entry's own
// indentation; a stale digest is removed when only a tag is given.
func (p *planner) kustomizeEntry(entry *yaml.Node) {
	if entry.Kind != yaml.MappingNode {
		return
	}
	// Every copy of a repeated name or newName may be the one a reader keeps.
	var names []string
	for _, key := range []string{"newName", "name"} {
		for _, pr := range lookupAll(entry, key) {
			if v, ok := scalar(pr.v); ok {
				names = append(names, v)
			}
		}
	}
	t := p.match(names...)
	if t == nil {
		return
	}
	// A repeated newTag or digest has every copy set (or removed).
	tags, digests := lookupAll(entry, "newTag"), lookupAll(entry, "digest")
	tagNode, digestNode := lastValue(tags), lastValue(digests)
	oldTag, _ := scalar(tagNode)
	oldDigest, _ := scalar(digestNode)
	for _, pr := range slices.Concat(lookupAll(entry, "name"), lookupAll(entry, "newName"), tags, digests) {
		p.claimed[pr.v] = true
	}
	line := entry.Line
	if tagNode != nil {
		line = tagNode.Line
	}
	if p.foundAt(line, t, oldTag, oldDigest) {
		return
	}
	p.setKustomize(entry, t, tags, digests, &yaml.Node{Line: line})
}

// setKustomize plans the edits that bring a kustomize images entry to t's
// version; at is where a change or skip is reported.
func (p *planner) setKustomize(entry *yaml.Node, t *target, tags, digests []pair, at *yaml.Node) {
	tagNode, digestNode := lastValue(tags), lastValue(digests)
	oldTag, _ := scalar(tagNode)
	oldDigest, _ := scalar(digestNode)
	r := t.ref
	newTag, newDigest := oldTag, oldDigest
	if r.Tag != "" {
		newTag = r.Tag
		newDigest = r.Digest
	} else {
		newDigest = r.Digest
	}
	tagMoves := newTag != oldTag || differ(tags, newTag, scalarValue)
	digestMoves := newDigest != oldDigest || differ(digests, newDigest, scalarValue)
	if !tagMoves && !digestMoves {
		return
	}
	if !tagMoves && digestNode != nil {
		at.Line = digestNode.Line // only the digest moves: point the reviewer at it
	}
	if newTag != oldTag && p.downgrade(at, t, oldTag) {
		return
	}
	var inserts []string
	n := len(p.edits)
	ok := true
	if tagMoves {
		if len(tags) == 0 {
			inserts = append(inserts, "newTag: "+scalarText(newTag))
		}
		for _, pr := range tags {
			if ok && pr.v.Value != newTag {
				ok = p.setScalar(pr.v, t, newTag)
			}
		}
	}
	if ok && digestMoves {
		switch {
		case newDigest == "":
			for _, pr := range digests {
				ok = ok && p.removePair(entry, pr.k, pr.v, t)
			}
		case len(digests) > 0:
			for _, pr := range digests {
				if ok && pr.v.Value != newDigest {
					ok = p.setScalar(pr.v, t, newDigest)
				}
			}
		default:
			inserts = append(inserts, "digest: "+scalarText(newDigest))
		}
	}
	if ok && len(inserts) > 0 {
		ok = p.insertKeys(entry, t, inserts)
	}
	if !ok {
		p.edits = p.edits[:n]
		return
	}
	p.change(at, t, imageref.JoinVersion(oldTag, oldDigest), imageref.JoinVersion(newTag, newDigest))
}

// lastValue is the value of the last pair, the copy a reader keeps, or nil.
func lastValue(pairs []pair) *yaml.Node {
	if len(pairs) == 0 {
		return nil
	}
	return pairs[len(pairs)-1].v
}

// scalarText is how a new value is written when bump adds the key.
func scalarText(v string) string {
	if plainSafe(v) {
		return v
	}
	return doubleQuote(v)
}

var errFlowEntry = errors.New("flow-style images entry: add or remove keys by hand")

// insertKeys adds "key: value" lines after the entry's last line, indented
// like the entry's first key.
func (p *planner) insertKeys(entry *yaml.Node, t *target, lines []string) bool {
	if entry.Style&yaml.FlowStyle != 0 {
		p.skip(entry, t, errFlowEntry.Error())
		return false
	}
	last := entry.Content[len(entry.Content)-1]
	if last.Kind != yaml.ScalarNode {
		p.skip(entry, t, "images entry ends in a nested value")
		return false
	}
	sp, err := p.src.scalarSpan(last)
	if err != nil {
		p.skip(entry, t, err.Error())
		return false
	}
	end, eol := p.src.lineEnd(sp.end)
	indent := strings.Repeat(" ", entry.Content[0].Column-1)
	var b strings.Builder
	if eol == "" {
		// The entry ends the file without a final line break.
		b.WriteString(p.src.eol())
	}
	for i, l := range lines {
		b.WriteString(indent + l)
		if eol != "" || i < len(lines)-1 {
			b.WriteString(p.src.eol())
		}
	}
	p.edits = append(p.edits, edit{start: end, end: end, text: b.String()})
	return true
}

// removePair deletes a "key: value" line of a block mapping.
func (p *planner) removePair(entry, k, v *yaml.Node, t *target) bool {
	if entry.Style&yaml.FlowStyle != 0 {
		p.skip(entry, t, errFlowEntry.Error())
		return false
	}
	if k.Line != v.Line || k == entry.Content[0] {
		p.skip(k, t, "cannot remove the stale digest: write it on its own line")
		return false
	}
	vs, err := p.src.scalarSpan(v)
	if err != nil {
		p.skip(k, t, err.Error())
		return false
	}
	start := p.src.lines[k.Line-1]
	if koff, err := p.src.offset(k.Line, k.Column); err != nil || strings.TrimLeft(string(p.src.data[start:koff]), " ") != "" {
		p.skip(k, t, "cannot remove the stale digest: write it on its own line")
		return false
	}
	end, eol := p.src.lineEnd(vs.end)
	if eol == "" && start > 0 {
		// Last line without a line break: take the previous line's break instead.
		prevEnd := start
		_, prevEOL := p.src.lineEnd(start - 1)
		start = prevEnd - len(prevEOL)
	}
	p.edits = append(p.edits, edit{start: start, end: end})
	return true
}
