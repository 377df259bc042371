// Package imageref owns container image references: it parses the --image
// argument, splits references as written in a file into name, tag and digest
// without changing their spelling, decides whether a written name is the same
// repository as the argument, and compares tags as semantic versions.
package imageref

import (
	"cmp"
	"errors"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/distribution/reference"
)

// Ref is a parsed --image argument.
type Ref struct {
	Name   string // normalized repository, e.g. "docker.io/library/nginx"
	Tag    string // may be empty when Digest is set
	Digest string // "sha256:…", may be empty
}

// Parse parses an --image argument: name:tag, name@digest or name:tag@digest.
// A reference without a tag or a digest is an error, because bump would not
// know what to write.
func Parse(s string) (Ref, error) {
	if s == "" {
		return Ref{}, errors.New(`invalid image "": empty reference`)
	}
	named, err := reference.ParseNormalizedNamed(hubAlias(s))
	if err != nil {
		return Ref{}, fmt.Errorf("invalid image %q: %w", s, err)
	}
	r := Ref{Name: named.Name()}
	if t, ok := named.(reference.Tagged); ok {
		r.Tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		r.Digest = d.Digest().String()
	}
	if r.Tag == "" && r.Digest == "" {
		return Ref{}, fmt.Errorf("invalid image %q: needs a tag or a digest (name:tag, name@sha256:…)", s)
	}
	return r, nil
}

// String returns the familiar form for messages, e.g. "nginx:1.27.3".
func (r Ref) String() string {
	s := r.Familiar()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// Familiar returns the familiar repository name, e.g. "nginx" or "ghcr.io/acme/api".
func (r Ref) Familiar() string {
	named, err := reference.ParseNormalizedNamed(r.Name)
	if err != nil {
		return r.Name
	}
	return reference.FamiliarName(named)
}

// Version is what a reader calls the new version: the tag, the digest when
// there is no tag, or "tag@digest".
func (r Ref) Version() string {
	return JoinVersion(r.Tag, r.Digest)
}

// Path returns the repository path without registry and without Docker Hub's
// implicit "library/" prefix ("acme/api", "nginx"). Every spelling of the
// repository in a file contains it, so it is the token files are screened for.
func (r Ref) Path() string {
	named, err := reference.ParseNormalizedNamed(r.Name)
	if err != nil {
		return r.Name
	}
	p := reference.Path(named)
	if reference.Domain(named) == "docker.io" {
		p = strings.TrimPrefix(p, "library/")
	}
	return p
}

// Matches reports whether name, a repository as written in a file (without
// tag or digest), is the same repository as r once normalized.
func (r Ref) Matches(name string) bool {
	n, ok := Normalize(name)
	return ok && n == r.Name
}

// JoinVersion renders a tag and digest as one version string.
func JoinVersion(tag, digest string) string {
	switch {
	case tag != "" && digest != "":
		return tag + "@" + digest
	case tag != "":
		return tag
	default:
		return digest
	}
}

// Normalize returns the normalized repository name of a name written without
// tag or digest ("nginx" -> "docker.io/library/nginx"). It reports false for
// anything that is not a valid repository name.
func Normalize(name string) (string, bool) {
	if name == "" || strings.ContainsAny(name, "@") {
		return "", false
	}
	named, err := reference.ParseNormalizedNamed(hubAlias(name))
	if err != nil || !reference.IsNameOnly(named) {
		return "", false
	}
	return named.Name(), true
}

// hubAlias spells Docker Hub's registry-1.docker.io (the host its API
// answers on, which Bitnami's values use) as docker.io, which the reference
// library already knows as the same registry as index.docker.io, so that
// all of them normalize alike.
func hubAlias(s string) string {
	if rest, ok := strings.CutPrefix(s, "registry-1.docker.io/"); ok {
		return "docker.io/" + rest
	}
	return s
}

// Written is a reference as it appears in a file, split without changing its
// spelling: Name + ":" + Tag + "@" + Digest (separators present only when the
// part is) gives back the original string.
type Written struct {
	Name   string
	Tag    string
	Digest string
}

// String reassembles the reference.
func (w Written) String() string {
	s := w.Name
	if w.Tag != "" {
		s += ":" + w.Tag
	}
	if w.Digest != "" {
		s += "@" + w.Digest
	}
	return s
}

// Version is the written tag and/or digest (see JoinVersion).
func (w Written) Version() string { return JoinVersion(w.Tag, w.Digest) }

// Split splits a reference written in a file into name, tag and digest,
// keeping the spelling. It reports false when s is not a valid reference
// (for example a template like "${REGISTRY}/api:1").
func Split(s string) (Written, bool) {
	if _, err := reference.ParseNormalizedNamed(s); err != nil {
		return Written{}, false
	}
	var w Written
	rest := s
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest, w.Digest = rest[:i], rest[i+1:]
	}
	// A tag can only follow the last path component; an earlier colon is a
	// registry port ("localhost:5000/app").
	slash := strings.LastIndexByte(rest, '/')
	if i := strings.LastIndexByte(rest, ':'); i > slash {
		rest, w.Tag = rest[:i], rest[i+1:]
	}
	w.Name = rest
	return w, true
}

// Apply returns the reference w rewritten to r's version, keeping w's
// spelling of the name. A tag-only r drops w's digest (a stale digest would
// win over the new tag); a digest-only r drops w's tag, as kustomize does,
// because the tag would no longer describe what runs.
func (r Ref) Apply(w Written) Written {
	return Written{Name: w.Name, Tag: r.Tag, Digest: r.Digest}
}

// CompareTags compares two tags that both read as versions: an optional
// "v", one to four dot-separated numbers ("7", "1.10", "22.04", "1.27.2"),
// then an optional suffix after "-" or "+". Tags with the same suffix
// ("1.27.2-alpine", "1.27.3-alpine") compare by their numbers; different
// suffixes compare only when both are pre-releases of semantic versioning
// or none ("1.2.3-rc.1" < "1.2.3"), since a variant such as "-alpine" is
// not older than "-bookworm". It returns -1, 0 or +1 and true, or false
// when there is no order: a tag that is not a version (latest, a SHA, a
// date like 20240101: numbers of six digits or more), different variants,
// or a shorter floating tag that agrees with the other ("1.27" and
// "1.27.3").
func CompareTags(a, b string) (int, bool) {
	va, ok := parseVersion(a)
	if !ok {
		return 0, false
	}
	vb, ok := parseVersion(b)
	if !ok {
		return 0, false
	}
	if va.suffix != vb.suffix && (!preRelease(va.suffix) || !preRelease(vb.suffix)) {
		return 0, false
	}
	for i := range min(len(va.nums), len(vb.nums)) {
		if c := cmp.Compare(va.nums[i], vb.nums[i]); c != 0 {
			return c, true
		}
	}
	if len(va.nums) != len(vb.nums) {
		return 0, false
	}
	if va.suffix == vb.suffix {
		return 0, true
	}
	// Same numbers, different pre-releases: semantic versioning's order of
	// pre-release identifiers (numbers below words, release last).
	sa, err := semver.StrictNewVersion("0.0.0" + va.suffix)
	if err != nil {
		return 0, false
	}
	sb, err := semver.StrictNewVersion("0.0.0" + vb.suffix)
	if err != nil {
		return 0, false
	}
	return sa.Compare(sb), true
}

type version struct {
	nums   []int
	suffix string // "" or starting with "-" or "+"
}

// maxVersionDigits bounds a version number: longer numbers are dates,
// timestamps or build ids, which say nothing about order against a version.
const maxVersionDigits = 5

func parseVersion(tag string) (version, bool) {
	s := strings.TrimPrefix(tag, "v")
	var v version
	for len(v.nums) < 4 {
		n := 0
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		if n == 0 || n > maxVersionDigits {
			return version{}, false
		}
		x := 0
		for _, c := range s[:n] {
			x = x*10 + int(c-'0')
		}
		v.nums = append(v.nums, x)
		s = s[n:]
		if s == "" || s[0] != '.' {
			break
		}
		s = s[1:]
	}
	if s != "" && s[0] != '-' && s[0] != '+' {
		return version{}, false
	}
	v.suffix = s
	return v, true
}

// preRelease reports whether a suffix is empty, build metadata, or a
// semantic-versioning pre-release word (rc, beta…), as opposed to a variant
// such as "-alpine".
func preRelease(suffix string) bool {
	if suffix == "" || suffix[0] == '+' {
		return true
	}
	word := strings.ToLower(suffix[1:])
	for _, p := range []string{"alpha", "beta", "rc", "pre", "dev", "snapshot"} {
		if strings.HasPrefix(word, p) {
			return true
		}
	}
	return false
}
