package bump

import (
	"reflect"
	"strings"
	"testing"

	"github.com/bump-gitops/bump/internal/imageref"
	"github.com/bump-gitops/bump/internal/manifest"
)

// versionsOn describes a branch by the first reference whose version this
// run would change; references this run would leave alone do not count.
func TestVersionsOn(t *testing.T) {
	api := imageref.Ref{Name: "ghcr.io/acme/api", Tag: "v1.2.3"}
	pinned := imageref.Ref{Name: "ghcr.io/acme/api", Tag: "v1.2.3", Digest: "sha256:" + repeat("a")}
	ref := func(file, tag, digest string) manifest.Reference {
		return manifest.Reference{File: file, Line: 1, Image: "ghcr.io/acme/api", Tag: tag, Digest: digest}
	}
	for _, tc := range []struct {
		name  string
		refs  []imageref.Ref
		found []manifest.Reference
		want  imageref.Ref
	}{
		{"same version everywhere", []imageref.Ref{api}, []manifest.Reference{ref("a", "v1.2.3", "")}, api},
		{"first differing one", []imageref.Ref{api}, []manifest.Reference{ref("a", "v1.2.3", ""), ref("b", "v1.3.0", ""), ref("c", "v1.1.0", "")},
			imageref.Ref{Name: api.Name, Tag: "v1.3.0"}},
		{"no version at all is skipped", []imageref.Ref{api}, []manifest.Reference{ref("a", "", ""), ref("b", "v1.0.0", "")},
			imageref.Ref{Name: api.Name, Tag: "v1.0.0"}},
		{"a slot without a digest only compares the tag", []imageref.Ref{pinned}, []manifest.Reference{ref("a", "v1.2.3", "")}, pinned},
		{"another digest differs", []imageref.Ref{pinned}, []manifest.Reference{ref("a", "v1.2.3", "sha256:"+repeat("b"))},
			imageref.Ref{Name: api.Name, Tag: "v1.2.3", Digest: "sha256:" + repeat("b")}},
		{"another image does not count", []imageref.Ref{api}, []manifest.Reference{{File: "a", Image: "ghcr.io/acme/web", Tag: "v9"}}, api},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := versionsOn(tc.refs, tc.found)
			if !reflect.DeepEqual(got, []imageref.Ref{tc.want}) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func repeat(c string) string { return strings.Repeat(c, 64) }
