// Package promote is the image source of `bump promote`: it reads the
// versions one environment runs, with the same manifest scan bump
// rewrites with, and hands them to bump.Run as explicit images. There is
// no second rewriter and no second pull-request flow.
package promote

import (
	"context"
	"fmt"
	"io/fs"
	"net/url"
	"slices"
	"strings"

	"github.com/bump-gitops/bump/internal/bump"
	"github.com/bump-gitops/bump/internal/imageref"
	"github.com/bump-gitops/bump/internal/manifest"
)

// Source reads the images to promote from the tree of each attempt.
type Source struct {
	From, To []string // the environments' paths
	// Images limits the promotion to these repositories; one with a tag
	// or digest picks that version when From holds several.
	Only        []imageref.Ref
	SkipInvalid bool
}

// Images returns the version From runs of every image that To also
// references (limited to s.Only when given). One image at two versions
// in From is an error naming both places, unless s.Only picks one.
func (s Source) Images(ctx context.Context, tree fs.FS) ([]imageref.Ref, error) {
	names := make([]imageref.Ref, len(s.Only))
	for i, r := range s.Only {
		names[i] = imageref.Ref{Name: r.Name}
	}
	from, err := manifest.Find(ctx, tree, manifest.FindOptions{Images: names, Paths: s.From, SkipInvalid: s.SkipInvalid})
	if err != nil {
		return nil, fmt.Errorf("read the images of %s: %w", strings.Join(s.From, ", "), err)
	}
	to, err := manifest.Find(ctx, tree, manifest.FindOptions{Images: names, Paths: s.To, SkipInvalid: s.SkipInvalid})
	if err != nil {
		return nil, fmt.Errorf("read the images of %s: %w", strings.Join(s.To, ", "), err)
	}
	var out []imageref.Ref
	for _, image := range images(from) {
		if !slices.ContainsFunc(to.References, func(r manifest.Reference) bool { return r.Image == image }) {
			continue
		}
		ref, err := s.pick(image, from.References)
		if err != nil {
			return nil, err
		}
		if ref.Tag != "" || ref.Digest != "" {
			out = append(out, ref)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("nothing to promote: no image of %s is also referenced in %s", strings.Join(s.From, ", "), strings.Join(s.To, ", "))
	}
	return out, nil
}

// images are the familiar names found, each once, in order.
func images(f *manifest.Found) []string {
	var out []string
	for _, r := range f.References {
		if !slices.Contains(out, r.Image) {
			out = append(out, r.Image)
		}
	}
	return out
}

// pick is the version of image that From runs: the one it holds, or the
// one an --image NAME:TAG selects among several.
func (s Source) pick(image string, refs []manifest.Reference) (imageref.Ref, error) {
	var at []manifest.Reference // the first reference of each version
	for _, r := range refs {
		if r.Image == image && !slices.ContainsFunc(at, func(a manifest.Reference) bool { return a.Version() == r.Version() }) {
			at = append(at, r)
		}
	}
	name, ok := imageref.Normalize(image)
	if !ok {
		return imageref.Ref{}, fmt.Errorf("%s:%d: image %q: not a valid repository name", at[0].File, at[0].Line, image)
	}
	for _, want := range s.Only {
		if want.Name != name || (want.Tag == "" && want.Digest == "") {
			continue
		}
		for _, a := range at {
			if a.Version() == want.Version() {
				return imageref.Ref{Name: name, Tag: a.Tag, Digest: a.Digest}, nil
			}
		}
		return imageref.Ref{}, fmt.Errorf("--image %s: the source environment does not run that version (it runs %s)", want, versions(at))
	}
	if len(at) > 1 {
		return imageref.Ref{}, fmt.Errorf("%s runs two versions in the source environment: %s at %s:%d and %s at %s:%d; pick one with --image %s:TAG",
			image, at[0].Version(), at[0].File, at[0].Line, at[1].Version(), at[1].File, at[1].Line, image)
	}
	return imageref.Ref{Name: name, Tag: at[0].Tag, Digest: at[0].Digest}, nil
}

func versions(at []manifest.Reference) string {
	vs := make([]string, len(at))
	for i, a := range at {
		vs[i] = fmt.Sprintf("%s at %s:%d", a.Version(), a.File, a.Line)
	}
	return strings.Join(vs, ", ")
}

// Origins reads, for each promoted version, the commit that put it into
// the first file of From that runs it: the newest one that changed the file
// with a Bump-Image trailer naming that image at that version. Its
// Bump-Source and Bump-Pipeline trailers are the links a reviewer sees.
func (s Source) Origins(ctx context.Context, tree fs.FS, h bump.History, refs []imageref.Ref) (map[string]bump.Origin, error) {
	names := make([]imageref.Ref, len(refs))
	for i, r := range refs {
		names[i] = imageref.Ref{Name: r.Name}
	}
	from, err := manifest.Find(ctx, tree, manifest.FindOptions{Images: names, Paths: s.From, SkipInvalid: true})
	if err != nil {
		return nil, fmt.Errorf("read the images of %s: %w", strings.Join(s.From, ", "), err)
	}
	out := make(map[string]bump.Origin)
	for _, ref := range refs {
		i := slices.IndexFunc(from.References, func(r manifest.Reference) bool {
			return ref.Matches(r.Image) && r.Version() == ref.Version()
		})
		if i < 0 {
			continue
		}
		msg, ok, err := h.LastCommit(ctx, from.References[i].File, func(m string) bool { return bumped(m, ref) })
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", from.References[i].File, err)
		}
		if !ok {
			continue
		}
		o := bump.Origin{Source: trailer(msg, "Bump-Source"), Pipeline: trailer(msg, "Bump-Pipeline")}
		if o != (bump.Origin{}) {
			out[bump.OriginKey(ref)] = o
		}
	}
	return out, nil
}

// bumped reports whether a commit message has a Bump-Image trailer naming
// ref's image at ref's version.
func bumped(msg string, ref imageref.Ref) bool {
	for line := range strings.Lines(msg) {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "Bump-Image: ")
		if !ok {
			continue
		}
		if got, err := imageref.Parse(v); err == nil && got.Name == ref.Name && got.Version() == ref.Version() {
			return true
		}
	}
	return false
}

// trailer is the value of the last key trailer of msg when it is a plain
// http(s) link; anything else (a hand-written trailer with markup) is not
// shown.
func trailer(msg, key string) string {
	var out string
	for line := range strings.Lines(msg) {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), key+": ")
		if !ok {
			continue
		}
		if u, err := url.Parse(v); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && !strings.ContainsAny(v, " \t<>()[]`") {
			out = v
		}
	}
	return out
}

// A promotion's pull request says where each version came from.
var _ bump.HistorySource = Source{}
