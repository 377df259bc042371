package manifest

import (
	"testing"

	"github.com/bump-gitops/bump/internal/imageref"
)

// What counts as a reference when deciding whether a file that does not
// parse holds the image.
func TestReferenced(t *testing.T) {
	tests := []struct {
		image, text string
		want        bool
	}{
		{"ghcr.io/acme/api:v1", "image: ghcr.io/acme/api:v1.2.2\n  bad: [", true},
		{"ghcr.io/acme/api:v1", `{"image": "ghcr.io/acme/api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"`, true},
		{"ghcr.io/acme/api:v1", "- api=ghcr.io/acme/api:v1\n", true},
		{"ghcr.io/acme/api:v1", "registry: ghcr.io\nrepository: acme/api\n", true},
		{"ghcr.io/acme/api:v1", "image: ghcr.io/acme/api-worker:v1\n", false},
		{"ghcr.io/acme/api:v1", "image: ghcr.io/acme/api/sub:v1\n", false},
		{"ghcr.io/acme/api:v1", "image: quay.io/acme/api:v1\n", false},
		{"ghcr.io/acme/api:v1", "# ghcr.io/acme/api:v1\n", false},
		{"ghcr.io/acme/api:v1", "  x: 1 # was ghcr.io/acme/api:v1\n", false},
		{"ghcr.io/acme/api:v1", "url: https://ghcr.io/acme/api\n", false},
		{"ghcr.io/acme/api:v1", "# ghcr.io/acme/api\nimage: ghcr.io/acme/api:v1\n", true},
		{"nginx:1", "image: nginx:1.27\n", true},
		{"nginx:1", "image: registry-1.docker.io/library/nginx:1.27\n", true},
		{"nginx:1", "image: ingress-nginx/controller:v1\n", false},
		{"nginx:1", "image: nginx-unprivileged:1\n", false},
	}
	for _, tt := range tests {
		r, err := imageref.Parse(tt.image)
		if err != nil {
			t.Fatal(err)
		}
		e, err := newEngine(Options{Images: []imageref.Ref{r}})
		if err != nil {
			t.Fatal(err)
		}
		if got := e.referenced([]byte(tt.text)) != nil; got != tt.want {
			t.Errorf("%s in %q: referenced = %v, want %v", tt.image, tt.text, got, tt.want)
		}
	}
}
