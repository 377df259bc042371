package promote

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/bump-gitops/bump/internal/imageref"
)

func pod(image string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: " + image + "\n")}
}

func only(t *testing.T, names ...string) []imageref.Ref {
	t.Helper()
	var out []imageref.Ref
	for _, n := range names {
		r, err := imageref.Parse(n)
		if err != nil {
			n, _ = imageref.Normalize(n)
			r = imageref.Ref{Name: n}
		}
		out = append(out, r)
	}
	return out
}

func TestImages(t *testing.T) {
	tree := fstest.MapFS{
		"staging/api.yaml":    pod("ghcr.io/acme/api:v1.2.0"),
		"staging/web.yaml":    pod("ghcr.io/acme/web:v2.0.0@sha256:" + strings.Repeat("a", 64)),
		"staging/only.yaml":   pod("ghcr.io/acme/new:v0.1.0"),
		"staging/twice.yaml":  pod("ghcr.io/acme/db:v3.0.0"),
		"staging/twice2.yaml": pod("ghcr.io/acme/db:v3.1.0"),
		"prod/api.yaml":       pod("ghcr.io/acme/api:v1.0.0"),
		"prod/web.yaml":       pod("ghcr.io/acme/web:v1.0.0"),
		"prod/db.yaml":        pod("ghcr.io/acme/db:v2.0.0"),
	}
	ctx := context.Background()
	tests := []struct {
		name    string
		only    []string
		want    string
		wantErr string
	}{
		{name: "conflict in from", wantErr: "ghcr.io/acme/db runs two versions in the source environment: v3.0.0 at staging/twice.yaml:8 and v3.1.0 at staging/twice2.yaml:8"},
		{name: "selected version", only: []string{"ghcr.io/acme/db:v3.1.0", "ghcr.io/acme/api"}, want: "ghcr.io/acme/api:v1.2.0 ghcr.io/acme/db:v3.1.0"},
		{name: "names only", only: []string{"ghcr.io/acme/api", "ghcr.io/acme/web"}, want: "ghcr.io/acme/api:v1.2.0 ghcr.io/acme/web:v2.0.0@sha256:" + strings.Repeat("a", 64)},
		{name: "version not run", only: []string{"ghcr.io/acme/db:v9"}, wantErr: "--image ghcr.io/acme/db:v9: the source environment does not run that version (it runs v3.0.0 at staging/twice.yaml:8, v3.1.0 at staging/twice2.yaml:8)"},
		{name: "only in from", only: []string{"ghcr.io/acme/new"}, wantErr: "nothing to promote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Source{From: []string{"staging"}, To: []string{"prod"}, Only: only(t, tt.only...)}
			refs, err := s.Images(ctx, tree)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range refs {
				got = append(got, r.String())
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("got %q, want %q", strings.Join(got, " "), tt.want)
			}
		})
	}
}
