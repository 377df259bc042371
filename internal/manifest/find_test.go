package manifest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/bump-gitops/bump/internal/imageref"
)

func names(t *testing.T, images ...string) []imageref.Ref {
	t.Helper()
	var out []imageref.Ref
	for _, s := range images {
		n, ok := imageref.Normalize(s)
		if !ok {
			t.Fatalf("bad name %q", s)
		}
		out = append(out, imageref.Ref{Name: n})
	}
	return out
}

func renderFound(f *Found, err error) string {
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	var b strings.Builder
	for _, r := range f.References {
		fmt.Fprintf(&b, "%s:%d %s tag=%q digest=%q\n", r.File, r.Line, r.Image, r.Tag, r.Digest)
	}
	for _, s := range f.Skipped {
		fmt.Fprintf(&b, "skip %s:%d %s: %s\n", s.File, s.Line, s.Image, s.Reason)
	}
	for _, n := range f.NotFound {
		fmt.Fprintf(&b, "not found %s\n", n)
	}
	return b.String()
}

func TestFind(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name   string
		files  map[string]string
		images []string // empty: every image
		skip   bool     // SkipInvalid
		want   string
	}{{
		name:   "image field, tag and digest",
		files:  map[string]string{"a.yaml": "spec:\n  containers:\n    - image: ghcr.io/acme/api:v1@" + digest + "\n    - image: nginx:1.27\n"},
		images: []string{"ghcr.io/acme/api"},
		want:   "a.yaml:3 ghcr.io/acme/api tag=\"v1\" digest=\"" + digest + "\"\n",
	}, {
		name:  "every image",
		files: map[string]string{"a.yaml": "spec:\n  containers:\n    - image: ghcr.io/acme/api:v1\n    - image: docker.io/library/nginx@" + digest + "\n"},
		want:  "a.yaml:3 ghcr.io/acme/api tag=\"v1\" digest=\"\"\na.yaml:4 nginx tag=\"\" digest=\"" + digest + "\"\n",
	}, {
		name:   "helm map with registry, digest null",
		files:  map[string]string{"values.yaml": "image:\n  registry: ghcr.io\n  repository: acme/api\n  tag: \"1.2\"\n  digest: ~\n"},
		images: []string{"ghcr.io/acme/api"},
		want:   "values.yaml:4 ghcr.io/acme/api tag=\"1.2\" digest=\"\"\n",
	}, {
		name:  "kustomize entry: newName is the image",
		files: map[string]string{"kustomization.yaml": "images:\n  - name: api\n    newName: ghcr.io/acme/api\n    newTag: v3\n"},
		want:  "kustomization.yaml:4 ghcr.io/acme/api tag=\"v3\" digest=\"\"\n",
	}, {
		name:   "kustomize entry matched by name",
		files:  map[string]string{"kustomization.yaml": "images:\n  - name: api\n    newName: ghcr.io/acme/api\n    digest: " + digest + "\n"},
		images: []string{"api"},
		want:   "kustomization.yaml:2 api tag=\"\" digest=\"" + digest + "\"\n",
	}, {
		name:  "argo cd kustomize images with alias",
		files: map[string]string{"app.yaml": "spec:\n  source:\n    kustomize:\n      images:\n        - api=ghcr.io/acme/api:v2\n"},
		want:  "app.yaml:5 ghcr.io/acme/api tag=\"v2\" digest=\"\"\n",
	}, {
		name:  "markers: whole reference and tag only",
		files: map[string]string{"a.yaml": "ref: ghcr.io/acme/api:v4 # bump: ghcr.io/acme/api\nver: v5 # bump: ghcr.io/acme/api:tag\n"},
		want:  "a.yaml:1 ghcr.io/acme/api tag=\"v4\" digest=\"\"\na.yaml:2 ghcr.io/acme/api tag=\"v5\" digest=\"\"\n",
	}, {
		name:  "embedded helm values",
		files: map[string]string{"app.yaml": "spec:\n  source:\n    helm:\n      values: |\n        image:\n          repository: ghcr.io/acme/api\n          tag: v6\n"},
		want:  "app.yaml:7 ghcr.io/acme/api tag=\"v6\" digest=\"\"\n",
	}, {
		name:  "status, volumes and VM images are not container images",
		files: map[string]string{"a.yaml": "apiVersion: v1\nkind: Pod\nspec:\n  volumes:\n    - rbd:\n        image: ghcr.io/acme/disk:v1\nstatus:\n  image: ghcr.io/acme/api:v0\n"},
		want:  "",
	}, {
		name:   "not found",
		files:  map[string]string{"a.yaml": "image: ghcr.io/acme/api:v1\n"},
		images: []string{"ghcr.io/acme/api", "ghcr.io/acme/web"},
		want:   "a.yaml:1 ghcr.io/acme/api tag=\"v1\" digest=\"\"\nnot found ghcr.io/acme/web\n",
	}, {
		name:   "invalid yaml skipped",
		files:  map[string]string{"a.yaml": "image: ghcr.io/acme/api:v1\n  bad: [\n"},
		images: []string{"ghcr.io/acme/api"},
		skip:   true,
		want:   "skip a.yaml:2 ghcr.io/acme/api: invalid yaml: mapping values are not allowed in this context\n",
	}, {
		name:   "invalid yaml fails",
		files:  map[string]string{"a.yaml": "image: ghcr.io/acme/api:v1\n  bad: [\n"},
		images: []string{"ghcr.io/acme/api"},
		want:   "error: a.yaml:2: parse yaml: mapping values are not allowed in this context (--skip-invalid skips it and rewrites the rest)\n",
	}, {
		name:  "every image: malformed YAML with no image key is none of its business",
		files: map[string]string{"a.yaml": "a: [\n", "b.yaml": "image: nginx:1\n  bad: [\n"},
		want:  "error: b.yaml:2: parse yaml: mapping values are not allowed in this context (--skip-invalid skips it and rewrites the rest)\n",
	}, {
		name:  "every image: a template is skipped, not parsed",
		files: map[string]string{"chart/templates/d.yaml": "image: {{ .Values.image }}\n"},
		want:  "skip chart/templates/d.yaml:0 : template file\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, data := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(data)}
			}
			f, err := Find(context.Background(), fsys, FindOptions{Images: names(t, tt.images...), SkipInvalid: tt.skip})
			if got := renderFound(f, err); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestFindDemo reads every image reference of the demo tree, and the
// versions of one image under one path.
func TestFindDemo(t *testing.T) {
	fsys := os.DirFS("../../testdata/demo")
	f, err := Find(context.Background(), fsys, FindOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := `apps/api/deployment.yaml:21 ghcr.io/acme/api tag="v1.2.2" digest=""
apps/api/deployment.yaml:26 ghcr.io/acme/api tag="v1.2.2" digest=""
apps/api/deployment.yaml:31 ghcr.io/acme/api tag="v1.2.2" digest=""
apps/worker/deployment.yaml:19 ghcr.io/acme/api-worker tag="v1.2.2" digest=""
argocd/api.yaml:17 ghcr.io/acme/api tag="v1.2.2" digest=""
base/kustomization.yaml:11 ghcr.io/acme/api tag="v1.2.2" digest=""
base/kustomization.yaml:13 ghcr.io/acme/api-worker tag="v1.2.2" digest=""
charts/api/values.yaml:7 ghcr.io/acme/api tag="v1.2.2" digest=""
jobs/cleanup.yaml:15 ghcr.io/acme/api tag="v1.2.2" digest=""
`
	if got := renderFound(f, nil); got != want {
		t.Errorf("every image:\n%s\nwant\n%s", got, want)
	}
	f, err = Find(context.Background(), fsys, FindOptions{Images: names(t, "ghcr.io/acme/api-worker"), Paths: []string{"apps"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Versions("ghcr.io/acme/api-worker"); !slices.Equal(got, []string{"v1.2.2"}) {
		t.Errorf("versions of api-worker under apps: %q", got)
	}
	if _, err := Find(context.Background(), fsys, FindOptions{Paths: []string{"nope"}}); !errors.Is(err, ErrNoPath) {
		t.Errorf("missing path: %v, want ErrNoPath", err)
	}
}

// TestFindAgreesWithRewrite runs every golden case both ways: each change
// a rewrite (downgrades allowed) makes starts from a version Find reports
// for the same file and image, and a Find for every image reports it too.
func TestFindAgreesWithRewrite(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join(goldenDir, "*.txtar"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases in %s: %v", goldenDir, err)
	}
	for _, file := range cases {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			c := loadGolden(t, ar)
			fsys := os.DirFS(writeTree(t, c))
			ro := c.opts
			ro.AllowDowngrade = true
			res, rerr := Rewrite(context.Background(), fsys, ro)
			fo := FindOptions{Images: ro.Images, Paths: ro.Paths, SkipInvalid: ro.SkipInvalid, MaxFileSize: ro.MaxFileSize}
			named, ferr := Find(context.Background(), fsys, fo)
			if (rerr == nil) != (ferr == nil) || rerr != nil && rerr.Error() != ferr.Error() {
				t.Fatalf("rewrite: %v\nfind: %v", rerr, ferr)
			}
			if rerr != nil {
				return
			}
			if !slices.Equal(res.NotFound, named.NotFound) {
				t.Errorf("not found: rewrite %q, find %q", res.NotFound, named.NotFound)
			}
			fo.Images, fo.SkipInvalid = nil, true
			every, err := Find(context.Background(), fsys, fo)
			if err != nil {
				t.Fatal(err)
			}
			for _, ch := range res.Changes {
				if !hasVersion(named.References, ch.File, ch.Image, ch.From) {
					t.Errorf("change %+v: Find (named) has no such reference:\n%s", ch, renderFound(named, nil))
				}
				if !hasVersion(every.References, ch.File, "", ch.From) {
					t.Errorf("change %+v: Find (every image) has no such reference:\n%s", ch, renderFound(every, nil))
				}
			}
		})
	}
}

// hasVersion reports whether refs hold a reference in file to image (any
// image when empty) at version.
func hasVersion(refs []Reference, file, image, version string) bool {
	return slices.ContainsFunc(refs, func(r Reference) bool {
		return r.File == file && (image == "" || r.Image == image) && r.Version() == version
	})
}
