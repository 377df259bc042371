package manifest

import (
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/bump-gitops/bump/internal/imageref"
)

// planner finds the image fields of one file and plans their edits.
type planner struct {
	e             *engine
	name          string
	src           *source
	kustomization bool
	nested        bool                // planning YAML embedded in a string; embedded() stops here
	claimed       map[*yaml.Node]bool // scalars already handled by a rule
	found         []bool              // per target: a reference names it (nil: not tracked)
	matched       bool                // a reference names a target
	edits         []edit
	changes       []Change
	refs          []Reference // find: the references seen
	skips         []Skip
}

func (p *planner) skip(n *yaml.Node, t *target, reason string) {
	s := Skip{File: p.name, Reason: reason}
	if n != nil {
		s.Line = n.Line
	}
	if t != nil {
		s.Image = t.image
	}
	p.skips = append(p.skips, s)
}

func (p *planner) document(doc *yaml.Node) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return
	}
	root := doc.Content[0]
	if p.kustomization && root.Kind == yaml.MappingNode {
		if imgs := lookup(root, "images"); imgs != nil && imgs.Kind == yaml.SequenceNode {
			for _, entry := range imgs.Content {
				p.kustomizeEntry(entry)
			}
		}
	}
	p.walk(root, scope{root: true})
}

// valuesFiles handles the *.yaml keys of a ConfigMap's data or a Secret's
// stringData (what Flux's valuesFrom reads), wherever the object sits: a
// document of its own, or an item of a List.
func (p *planner) valuesFiles(m *yaml.Node) {
	var files *yaml.Node
	switch kind, _ := scalar(lookup(m, "kind")); kind {
	case "ConfigMap":
		files = lookup(m, "data")
	case "Secret":
		files = lookup(m, "stringData")
	}
	if files == nil || files.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(files.Content); i += 2 {
		if k, ok := scalar(files.Content[i]); ok && (strings.HasSuffix(k, ".yaml") || strings.HasSuffix(k, ".yml")) {
			p.embedded(deref(files.Content[i+1]))
		}
	}
}

// scope is what the path from the document root says about a node.
type scope struct {
	root    bool // the document's top-level node
	volumes bool // under a pod's volumes
	// noImage is set under fields whose "image" names something other than
	// a container image: a Ceph RBD image, a VM image. Only the image rules
	// look at it; a "# bump:" marker is explicit and still applies.
	noImage bool
}

// child is the scope of the value of key in a mapping of scope s. The rule
// is a denylist, not an allowlist of container fields: Helm values and
// custom resources put container images under any key, so only places
// known to hold something else are left out.
func (s scope) child(key string) scope {
	c := scope{volumes: s.volumes, noImage: s.noImage}
	switch key {
	case "volumes":
		// Volume sources name disks and volumes (rbd.image is a Ceph RBD
		// image); KubeVirt's containerDisk below is the exception.
		c.volumes, c.noImage = true, true
	case "containerDisk":
		if s.volumes {
			c.noImage = false
		}
	case "rbd", "cinder":
		// A PersistentVolume's own volume source, outside any volumes list.
		c.noImage = true
	}
	return c
}

// isObject reports whether mapping m is a Kubernetes object, whose status
// is what a cluster reported, not configuration.
func isObject(m *yaml.Node, s scope) bool {
	if s.root {
		return true
	}
	_, hasKind := scalar(lookup(m, "kind"))
	_, hasAPI := scalar(lookup(m, "apiVersion"))
	return hasKind && hasAPI
}

// vmImages reports whether m is a Cluster API infrastructure object
// (OpenStackMachineTemplate, GCPMachine…), whose image fields name VM
// images.
func vmImages(m *yaml.Node) bool {
	api, _ := scalar(lookup(m, "apiVersion"))
	return strings.HasPrefix(api, "infrastructure.cluster.x-k8s.io/")
}

// walk visits every node once. Alias nodes are not followed: an alias is
// rewritten through its anchor's definition, and following aliases is how a
// YAML bomb would explode.
func (p *planner) walk(n *yaml.Node, s scope) {
	switch n.Kind {
	case yaml.MappingNode:
		object := isObject(n, s)
		if vmImages(n) {
			s.noImage = true
		}
		if !s.noImage {
			p.helmMap(n)
		}
		p.valuesFiles(n)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key, _ := scalar(k)
			if object && key == "status" {
				continue // a live object's status: never configuration
			}
			// YAML held in a string, before the marker rule can claim the
			// string itself.
			if key == "helm" {
				p.embedded(lookup(v, "values")) // Argo CD's values string
			}
			if key == "valuesContent" {
				p.embedded(deref(v)) // k3s/RKE2 HelmChart
			}
			if key == "image" && !s.noImage {
				p.imageScalar(deref(v))
			}
			if v.Kind == yaml.ScalarNode {
				p.marker(v, v.LineComment, k.LineComment)
			}
			if key == "kustomize" && v.Kind == yaml.MappingNode {
				if imgs := lookup(v, "images"); imgs != nil && imgs.Kind == yaml.SequenceNode {
					for _, item := range imgs.Content {
						p.argoImage(item)
					}
				}
			}
			p.walk(v, s.child(key))
		}
	case yaml.SequenceNode:
		item := scope{volumes: s.volumes, noImage: s.noImage}
		for _, c := range n.Content {
			if c.Kind == yaml.ScalarNode {
				p.marker(c, c.LineComment)
			}
			p.walk(c, item)
		}
	}
}

// pair is a key and its value (aliases to scalars resolved).
type pair struct{ k, v *yaml.Node }

// lookupAll returns every pair of mapping m with the key, in order: a file
// may repeat a key.
func lookupAll(m *yaml.Node, key string) []pair {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var out []pair
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			out = append(out, pair{k, deref(m.Content[i+1])})
		}
	}
	return out
}

func lookup(m *yaml.Node, key string) *yaml.Node {
	_, v := lookupPair(m, key)
	return v
}

func lookupPair(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return k, deref(m.Content[i+1])
		}
	}
	return nil, nil
}

// deref returns the scalar an alias stands for, so that "tag: *version"
// is bumped by rewriting "&version"'s definition (the one place the bytes
// live); any other node comes back as it is. Only scalars are resolved:
// the walk reaches an anchored mapping where it is defined.
func deref(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && n.Alias.Kind == yaml.ScalarNode {
		return n.Alias
	}
	return n
}

func scalar(n *yaml.Node) (string, bool) {
	if n == nil || n.Kind != yaml.ScalarNode {
		return "", false
	}
	return n.Value, true
}

// match returns the target whose repository name is written as name.
// A Find for every image makes a target of the first name that is a
// repository.
func (p *planner) match(names ...string) *target {
	if p.e.every {
		return p.anyTarget(names)
	}
	for i := range p.e.targets {
		t := &p.e.targets[i]
		for _, name := range names {
			if name != "" && t.ref.Matches(name) {
				p.matched = true
				if p.found != nil {
					p.found[i] = true
				}
				return t
			}
		}
	}
	return nil
}

func (p *planner) anyTarget(names []string) *target {
	for _, name := range names {
		if n, ok := imageref.Normalize(name); ok {
			p.matched = true
			r := imageref.Ref{Name: n}
			return &target{index: -1, ref: r, image: r.Familiar()}
		}
	}
	return nil
}

// foundAt records, in a Find, the version a reference to t holds at line.
// It reports whether the planner is finding (and so plans no edit).
func (p *planner) foundAt(line int, t *target, tag, digest string) bool {
	if !p.e.find {
		return false
	}
	p.refs = append(p.refs, Reference{File: p.name, Line: line, Image: t.image, Tag: tag, Digest: digest})
	return true
}

// downgrade reports (and records) a semver downgrade that is not allowed.
func (p *planner) downgrade(n *yaml.Node, t *target, oldTag string) bool {
	if p.e.opts.AllowDowngrade || t.ref.Tag == "" || oldTag == "" {
		return false
	}
	if c, ok := imageref.CompareTags(t.ref.Tag, oldTag); ok && c < 0 {
		p.skip(n, t, fmt.Sprintf("would downgrade %s to %s (allow with --allow-downgrade)", oldTag, t.ref.Tag))
		return true
	}
	return false
}

// setScalar plans replacing scalar n's value.
func (p *planner) setScalar(n *yaml.Node, t *target, value string) bool {
	sp, err := p.src.scalarSpan(n)
	if err != nil {
		p.skip(n, t, err.Error())
		return false
	}
	if sp.block && !blockSafe(value) {
		p.skip(n, t, "value cannot be written in a block scalar")
		return false
	}
	start, end, text := replacement(sp, value)
	p.edits = append(p.edits, edit{start: start, end: end, text: text})
	return true
}

// warn records something about a rewritten file that a reviewer should see.
func (p *planner) warn(n *yaml.Node, t *target, reason string) {
	p.skip(n, t, reason)
	p.skips[len(p.skips)-1].warning = true
}

func (p *planner) change(n *yaml.Node, t *target, from, to string) {
	p.changes = append(p.changes, Change{File: p.name, Line: n.Line, Image: t.image, From: from, To: to})
}

// rewriteRef plans rewriting a whole written reference held by scalar n,
// keeping its spelling of the name. prefix is text before the reference in
// the scalar (an Argo CD "alias=").
func (p *planner) rewriteRef(n *yaml.Node, t *target, prefix string, w imageref.Written) {
	p.claimed[n] = true
	if p.foundAt(n.Line, t, w.Tag, w.Digest) {
		return
	}
	nw := t.ref.Apply(w)
	if nw == w || p.downgrade(n, t, w.Tag) {
		return
	}
	if p.setScalar(n, t, prefix+nw.String()) {
		p.change(n, t, w.Version(), nw.Version())
	}
}

// imageScalar handles rule 1: any "image:" whose value is a reference.
func (p *planner) imageScalar(n *yaml.Node) {
	if n == nil || n.Kind != yaml.ScalarNode || p.claimed[n] {
		return
	}
	w, ok := imageref.Split(n.Value)
	if !ok {
		return
	}
	if t := p.match(w.Name); t != nil {
		p.rewriteRef(n, t, "", w)
	}
}

// argoImage handles rule 4: Argo CD kustomize.images items, "[alias=]name[:tag][@digest]".
func (p *planner) argoImage(n *yaml.Node) {
	if n.Kind != yaml.ScalarNode || p.claimed[n] {
		return
	}
	alias, ref, found := strings.Cut(n.Value, "=")
	if !found {
		alias, ref = "", n.Value
	}
	w, ok := imageref.Split(ref)
	if !ok {
		return
	}
	t := p.match(w.Name, alias)
	if t == nil {
		return
	}
	prefix := ""
	if found {
		prefix = alias + "="
	}
	p.rewriteRef(n, t, prefix, w)
}

// marker handles rule 5: a scalar marked "# bump: NAME" (whole reference) or
// "# bump: NAME:tag" (the value is only the tag).
func (p *planner) marker(n *yaml.Node, comments ...string) {
	if p.claimed[n] {
		return
	}
	for _, c := range comments {
		arg, ok := markerArg(c)
		if !ok {
			continue
		}
		name, tagOnly := strings.CutSuffix(arg, ":tag")
		t := p.match(name)
		if t == nil {
			continue
		}
		if !tagOnly {
			if w, ok := imageref.Split(n.Value); ok {
				p.rewriteRef(n, t, "", w)
			} else {
				p.claimed[n] = true
				p.skip(n, t, "marked value is not an image reference")
			}
			return
		}
		p.claimed[n] = true
		if p.foundAt(n.Line, t, n.Value, "") {
			return
		}
		if t.ref.Tag == "" {
			p.skip(n, t, "marked value is a tag but the image is given by digest only")
			return
		}
		if n.Value == t.ref.Tag || p.downgrade(n, t, n.Value) {
			return
		}
		if p.setScalar(n, t, t.ref.Tag) {
			p.change(n, t, n.Value, t.ref.Tag)
			if t.ref.Digest != "" {
				p.warn(n, t, "digest not pinned: the marked value holds only the tag")
			}
		}
		return
	}
}

func markerArg(comment string) (string, bool) {
	for c := range strings.SplitSeq(comment, "\n") {
		c = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(c), "#"))
		rest, ok := strings.CutPrefix(c, "bump:")
		if !ok {
			continue
		}
		if f := strings.Fields(rest); len(f) > 0 {
			return f[0], true
		}
	}
	return "", false
}

// helmMap handles rule 3: {registry?, repository, tag, digest?}. A map
// that repeats one of these keys has every copy of tag and digest set,
// since readers differ in which copy they keep; the old version is the
// last copy's, which is what the YAML-to-JSON readers of kubectl and Helm
// keep.
func (p *planner) helmMap(m *yaml.Node) {
	tags := lookupAll(m, "tag")
	if len(tags) == 0 {
		return
	}
	tagNode := tags[len(tags)-1].v
	if _, ok := scalar(tagNode); !ok || p.claimed[tagNode] {
		return
	}
	t := p.helmTarget(m)
	if t == nil {
		return
	}
	digests := lookupAll(m, "digest")
	for _, pr := range tags {
		p.claimed[pr.v] = true
	}
	for _, pr := range digests {
		p.claimed[pr.v] = true
	}
	oldTag := tagNode.Value
	oldDigest, hasDigest := "", len(digests) > 0
	if hasDigest {
		oldDigest = digestValue(digests[len(digests)-1].v)
	}
	if p.foundAt(tags[0].v.Line, t, oldTag, oldDigest) {
		return
	}
	p.setHelm(t, tags, digests)
}

// setHelm plans the edits that bring a Helm map's tag and digest copies
// to t's version.
func (p *planner) setHelm(t *target, tags, digests []pair) {
	tagNode := tags[len(tags)-1].v
	oldTag := tagNode.Value
	oldDigest, hasDigest := "", len(digests) > 0
	if hasDigest {
		oldDigest = digestValue(digests[len(digests)-1].v)
	}
	from := imageref.JoinVersion(oldTag, oldDigest)
	r := t.ref
	newTag, newDigest := oldTag, oldDigest
	switch {
	case r.Tag != "" && r.Digest == "":
		newTag, newDigest = r.Tag, ""
	case r.Tag == "":
		if !hasDigest {
			p.skip(tagNode, t, "image map has no digest key for a digest-only bump")
			return
		}
		newDigest = r.Digest
	default:
		newTag = r.Tag
		if hasDigest {
			newDigest = r.Digest
		}
	}
	tagMoves := newTag != oldTag || differ(tags, newTag, scalarValue)
	digestMoves := newDigest != oldDigest || differ(digests, newDigest, digestValue)
	if !tagMoves && !digestMoves {
		return
	}
	if newTag != oldTag && p.downgrade(tagNode, t, oldTag) {
		return
	}
	n := len(p.edits)
	ok := true
	for _, pr := range tags {
		if ok && pr.v.Value != newTag {
			ok = p.setTag(pr.v, t, newTag)
		}
	}
	var at *yaml.Node
	for _, pr := range digests {
		if ok && digestValue(pr.v) != newDigest {
			ok = p.setDigest(pr.k, pr.v, t, newDigest)
			at = pr.v
		}
	}
	if !ok {
		p.edits = p.edits[:n]
		return
	}
	if tagMoves || at == nil {
		at = tags[0].v
	}
	p.change(at, t, from, imageref.JoinVersion(newTag, newDigest))
	if r.Tag != "" && r.Digest != "" && !hasDigest {
		p.warn(tagNode, t, "digest not pinned: this image map has no digest key (add digest: \"\" to pin it)")
	}
}

// helmTarget returns the target a Helm map's registry and repository name.
func (p *planner) helmTarget(m *yaml.Node) *target {
	reg := ""
	if regs := lookupAll(m, "registry"); len(regs) > 0 {
		reg, _ = scalar(regs[len(regs)-1].v)
	}
	var names []string
	for _, pr := range lookupAll(m, "repository") {
		if repo, ok := scalar(pr.v); ok && repo != "" {
			if reg != "" {
				repo = strings.TrimSuffix(reg, "/") + "/" + repo
			}
			names = append(names, repo)
		}
	}
	if len(names) == 0 {
		return nil
	}
	return p.match(names...)
}

func scalarValue(n *yaml.Node) string { return n.Value }

// differ reports whether any of the pairs' values reads other than want.
func differ(pairs []pair, want string, value func(*yaml.Node) string) bool {
	for _, pr := range pairs {
		if value(pr.v) != want {
			return true
		}
	}
	return false
}

// digestValue is a Helm digest as a version: null, ~ and an empty value
// mean no digest.
func digestValue(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return ""
	}
	return n.Value
}

// setTag sets a Helm tag value; an empty plain one has no bytes to replace.
func (p *planner) setTag(n *yaml.Node, t *target, value string) bool {
	if n.Value == "" && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
		p.skip(n, t, "empty tag value; write tag: \"\" to let bump set it")
		return false
	}
	return p.setScalar(n, t, value)
}

// setDigest sets a Helm digest value. A null one (null, ~) is replaced; an
// empty one gets the value written after the key's colon. Clearing a digest
// writes "".
func (p *planner) setDigest(k, n *yaml.Node, t *target, value string) bool {
	if n.Kind == yaml.ScalarNode && n.Value == "" && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
		return p.fillEmpty(k, t, value)
	}
	if value == "" && digestValue(n) == "" {
		return true
	}
	return p.setScalar(n, t, value)
}

// emptyAfter reports whether rest, what follows a key's colon, holds no
// value text: only blanks up to the line's end, a comment, or the end of a
// flow mapping entry. A tag or anchor there (digest: !!null) is refused.
func emptyAfter(rest []byte) bool {
	i := 0
	for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t') {
		i++
	}
	if i == len(rest) {
		return true
	}
	switch rest[i] {
	case '\r', '\n', ',', '}':
		return true
	case '#':
		return i > 0
	}
	return false
}

// fillEmpty writes value after the colon of key k, whose value is empty.
func (p *planner) fillEmpty(k *yaml.Node, t *target, value string) bool {
	sp, err := p.src.scalarSpan(k)
	if err != nil || k.Style != 0 {
		p.skip(k, t, "cannot locate the empty digest value; write digest: \"\" to let bump set it")
		return false
	}
	i := sp.end
	for i < len(p.src.data) && (p.src.data[i] == ' ' || p.src.data[i] == '\t') {
		i++
	}
	if i >= len(p.src.data) || p.src.data[i] != ':' || !emptyAfter(p.src.data[i+1:]) {
		p.skip(k, t, "cannot locate the empty digest value; write digest: \"\" to let bump set it")
		return false
	}
	p.edits = append(p.edits, edit{start: i + 1, end: i + 1, text: " " + scalarText(value)})
	return true
}
