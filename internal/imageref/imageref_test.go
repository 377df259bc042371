package imageref

import (
	"strings"
	"testing"
)

const dgst = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParse(t *testing.T) {
	tests := []struct {
		in                string
		name, tag, digest string
		str, fam, version string
	}{
		{"nginx:1.27.3", "docker.io/library/nginx", "1.27.3", "", "nginx:1.27.3", "nginx", "1.27.3"},
		{"docker.io/library/nginx:1.27.3", "docker.io/library/nginx", "1.27.3", "", "nginx:1.27.3", "nginx", "1.27.3"},
		{"index.docker.io/library/nginx:1", "docker.io/library/nginx", "1", "", "nginx:1", "nginx", "1"},
		{"registry-1.docker.io/bitnami/redis:7", "docker.io/bitnami/redis", "7", "", "bitnami/redis:7", "bitnami/redis", "7"},
		{"registry-1.docker.io/nginx:1", "docker.io/library/nginx", "1", "", "nginx:1", "nginx", "1"},
		{"bitnami/redis:7", "docker.io/bitnami/redis", "7", "", "bitnami/redis:7", "bitnami/redis", "7"},
		{"ghcr.io/acme/api:v1.2.3", "ghcr.io/acme/api", "v1.2.3", "", "ghcr.io/acme/api:v1.2.3", "ghcr.io/acme/api", "v1.2.3"},
		{"ghcr.io/acme/api@" + dgst, "ghcr.io/acme/api", "", dgst, "ghcr.io/acme/api@" + dgst, "ghcr.io/acme/api", dgst},
		{"ghcr.io/acme/api:v2@" + dgst, "ghcr.io/acme/api", "v2", dgst, "ghcr.io/acme/api:v2@" + dgst, "ghcr.io/acme/api", "v2@" + dgst},
		{"localhost:5000/app:1.0", "localhost:5000/app", "1.0", "", "localhost:5000/app:1.0", "localhost:5000/app", "1.0"},
	}
	for _, tt := range tests {
		r, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if r.Name != tt.name || r.Tag != tt.tag || r.Digest != tt.digest {
			t.Errorf("Parse(%q) = %+v, want %s %s %s", tt.in, r, tt.name, tt.tag, tt.digest)
		}
		if got := r.String(); got != tt.str {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.str)
		}
		if got := r.Familiar(); got != tt.fam {
			t.Errorf("Parse(%q).Familiar() = %q, want %q", tt.in, got, tt.fam)
		}
		if got := r.Version(); got != tt.version {
			t.Errorf("Parse(%q).Version() = %q, want %q", tt.in, got, tt.version)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"", "nginx", "ghcr.io/acme/api", "localhost:5000/app", "Nginx:1", "nginx:", "nginx@sha256:short", "ghcr.io/acme/api:v1 ", "a b:1", ":1"} {
		_, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error", in)
			continue
		}
		if !strings.Contains(err.Error(), `"`+in+`"`) {
			t.Errorf("Parse(%q) error %q does not name the argument", in, err)
		}
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		image, written string
		want           bool
	}{
		{"nginx:1", "nginx", true},
		{"nginx:1", "docker.io/library/nginx", true},
		{"nginx:1", "index.docker.io/library/nginx", true},
		{"nginx:1", "registry-1.docker.io/library/nginx", true},
		{"nginx:1", "registry-1.docker.io/nginx", true},
		{"bitnami/redis:7", "registry-1.docker.io/bitnami/redis", true},
		{"registry-1.docker.io/bitnami/redis:7", "docker.io/bitnami/redis", true},
		{"nginx:1", "registry-2.docker.io/library/nginx", false},
		{"nginx:1", "docker.io/nginx", true},
		{"nginx:1", "library/nginx", true},
		{"nginx:1", "bitnami/nginx", false},
		{"nginx:1", "nginx:1", false}, // a tag is not part of a name
		{"ghcr.io/acme/api:v1", "ghcr.io/acme/api", true},
		{"ghcr.io/acme/api:v1", "ghcr.io/acme/api-worker", false},
		{"ghcr.io/acme/api:v1", "ghcr.io/acme/api/sub", false},
		{"ghcr.io/acme/api:v1", "acme/api", false},
		{"ghcr.io/acme/api:v1", "GHCR.io/acme/api", false},
		{"localhost:5000/app:1", "localhost:5000/app", true},
		{"localhost:5000/app:1", "localhost/app", false},
		{"localhost:5000/app:1", "localhost:5001/app", false},
		{"ghcr.io/acme/api:v1", "${REG}/acme/api", false},
		{"ghcr.io/acme/api:v1", "", false},
	}
	for _, tt := range tests {
		r, err := Parse(tt.image)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Matches(tt.written); got != tt.want {
			t.Errorf("Parse(%q).Matches(%q) = %v, want %v", tt.image, tt.written, got, tt.want)
		}
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		in   string
		want Written
		ok   bool
	}{
		{"nginx", Written{Name: "nginx"}, true},
		{"nginx:1.27", Written{Name: "nginx", Tag: "1.27"}, true},
		{"localhost:5000/app", Written{Name: "localhost:5000/app"}, true},
		{"localhost:5000/app:v1", Written{Name: "localhost:5000/app", Tag: "v1"}, true},
		{"ghcr.io/acme/api:v1@" + dgst, Written{Name: "ghcr.io/acme/api", Tag: "v1", Digest: dgst}, true},
		{"ghcr.io/acme/api@" + dgst, Written{Name: "ghcr.io/acme/api", Digest: dgst}, true},
		{"${REG}/api:1", Written{}, false},
		{"api:", Written{}, false},
		{"", Written{}, false},
	}
	for _, tt := range tests {
		got, ok := Split(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("Split(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
		if ok && got.String() != tt.in {
			t.Errorf("Split(%q).String() = %q", tt.in, got.String())
		}
	}
}

func TestApply(t *testing.T) {
	w := Written{Name: "index.docker.io/library/nginx", Tag: "1.0", Digest: dgst}
	tests := []struct {
		image string
		want  string
	}{
		{"nginx:1.1", "index.docker.io/library/nginx:1.1"},
		{"nginx@" + dgst, "index.docker.io/library/nginx@" + dgst},
		{"nginx:1.1@" + dgst, "index.docker.io/library/nginx:1.1@" + dgst},
	}
	for _, tt := range tests {
		r, err := Parse(tt.image)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Apply(w).String(); got != tt.want {
			t.Errorf("Apply(%q) = %q, want %q", tt.image, got, tt.want)
		}
	}
}

func TestPath(t *testing.T) {
	for in, want := range map[string]string{
		"nginx:1":                   "nginx",
		"docker.io/bitnami/redis:1": "bitnami/redis",
		"ghcr.io/acme/api:v1":       "acme/api",
		"localhost:5000/app:1":      "app",
	} {
		r, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Path(); got != want {
			t.Errorf("Parse(%q).Path() = %q, want %q", in, got, want)
		}
	}
}

func TestCompareTags(t *testing.T) {
	tests := []struct {
		a, b string
		cmp  int
		ok   bool
	}{
		{"v1.9.3", "v1.10.0", -1, true},
		{"1.10.0", "1.9.3", 1, true},
		{"v1.2.3", "1.2.3", 0, true},
		{"1.2.3-rc.1", "1.2.3", -1, true},
		{"latest", "1.2.3", 0, false},
		{"1.2.3", "stable", 0, false},
		{"1.9", "1.10", -1, true}, // short versions are versions too
		{"1.10", "1.27.2", -1, true},
		{"7.8", "7.9", -1, true},
		{"v7", "v6", 1, true},
		{"7", "v7", 0, true},
		{"1.27.2-alpine", "1.27.3-alpine", -1, true},
		{"1.28-alpine", "1.27.3-alpine", 1, true},
		{"1.27-alpine", "1.27.3-alpine", 0, false}, // a floating tag: no order claimed
		{"1.27.3-alpine", "1.27.3-bookworm", 0, false},
		{"1.10-alpine", "1.9", 0, false}, // different suffixes
		{"20240101", "20231231", 0, false},
		{"1.2", "20240101", 0, false},
		{"a1b2c3d", "1.2", 0, false},
		{"1234567", "1.2", 0, false},
		{"22.04", "24.04", -1, true},
		{"1.2.3-rc.1", "1.2.4", -1, true},
		{"1.2.4-rc.1", "1.2.3", 1, true},
		{"1.2.3-beta.2", "1.2.3-rc.1", -1, true},
		{"1.27.2alpine", "1.27.3alpine", 0, false},
		{"1..2", "1.2", 0, false},
		{"vv1.2.3", "1.2.3", 0, false},
	}
	for _, tt := range tests {
		cmp, ok := CompareTags(tt.a, tt.b)
		if cmp != tt.cmp || ok != tt.ok {
			t.Errorf("CompareTags(%q, %q) = %d, %v; want %d, %v", tt.a, tt.b, cmp, ok, tt.cmp, tt.ok)
		}
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{"nginx", "nginx:1.27", "localhost:5000/app:v1", "ghcr.io/acme/api:v1@" + dgst, "index.docker.io/library/nginx", "a/b/c:d", "x@" + dgst} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, ok := Split(s)
		if !ok {
			return
		}
		if w.String() != s {
			t.Fatalf("Split(%q) = %+v does not reassemble", s, w)
		}
		norm, ok := Normalize(w.Name)
		if !ok {
			t.Fatalf("Split(%q) name %q does not normalize", s, w.Name)
		}
		if norm2, ok := Normalize(norm); !ok || norm2 != norm {
			t.Fatalf("Normalize not idempotent: %q -> %q -> %q", w.Name, norm, norm2)
		}
		if w.Tag == "" && w.Digest == "" {
			if _, err := Parse(s); err == nil {
				t.Fatalf("Parse(%q) accepted a reference without tag or digest", s)
			}
			return
		}
		r, err := Parse(s)
		if err != nil {
			t.Fatalf("Split accepted %q but Parse failed: %v", s, err)
		}
		if r.Name != norm || r.Tag != w.Tag || r.Digest != w.Digest {
			t.Fatalf("Parse(%q) = %+v, Split = %+v (%s)", s, r, w, norm)
		}
		if !r.Matches(w.Name) {
			t.Fatalf("Parse(%q) does not match its own name %q", s, w.Name)
		}
		// The familiar form must round-trip to the same reference.
		r2, err := Parse(r.String())
		if err != nil || r2 != r {
			t.Fatalf("Parse(%q).String() = %q round-trips to %+v, %v", s, r.String(), r2, err)
		}
		if got := r.Apply(w); got.String() != s {
			t.Fatalf("applying a reference to itself changed it: %q -> %q", s, got.String())
		}
	})
}
