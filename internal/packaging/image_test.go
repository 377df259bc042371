package packaging

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/distribution/reference"
	"sigs.k8s.io/yaml"
)

// TestImageLabels: both published stages name the real repository, and take
// version and revision from the build arguments the release passes.
func TestImageLabels(t *testing.T) {
	src := readString(t, filepath.Join(root, "Dockerfile"))
	stages := regexp.MustCompile(`(?m)^FROM `).Split(src, -1)[1:]
	published := 0
	for _, st := range stages {
		name := strings.Fields(st)[len(strings.Fields(strings.SplitN(st, "\n", 2)[0]))-1]
		if name != "final" && name != "debug" {
			continue
		}
		published++
		for _, want := range []string{
			`org.opencontainers.image.source="https://github.com/bump-gitops/bump"`,
			`org.opencontainers.image.version="${VERSION}"`,
			`org.opencontainers.image.revision="${COMMIT}"`,
		} {
			if !strings.Contains(st, want) {
				t.Errorf("stage %s lacks %s", name, want)
			}
		}
	}
	if published != 2 {
		t.Errorf("found %d of the final and debug stages", published)
	}
}

// TestTemplateImage: the GitLab template runs a released image with a shell,
// one variable away from a pinned version or a mirror.
func TestTemplateImage(t *testing.T) {
	var tmpl map[string]struct {
		Image struct {
			Name string `json:"name"`
		} `json:"image"`
		Variables map[string]string `json:"variables"`
	}
	if err := yaml.Unmarshal([]byte(readString(t, filepath.Join(root, ".gitlab-ci-template.yml"))), &tmpl); err != nil {
		t.Fatal(err)
	}
	job := tmpl[".bump"]
	if job.Image.Name != "${BUMP_CONTAINER_IMAGE}" {
		t.Errorf("image is %q, want ${BUMP_CONTAINER_IMAGE}", job.Image.Name)
	}
	img := job.Variables["BUMP_CONTAINER_IMAGE"]
	ref, err := reference.ParseNormalizedNamed(img)
	if err != nil {
		t.Fatalf("BUMP_CONTAINER_IMAGE %q: %v", img, err)
	}
	tagged, ok := ref.(reference.Tagged)
	if ref.Name() != "ghcr.io/bump-gitops/bump" || !ok || !regexp.MustCompile(`^v\d+(\.\d+\.\d+)?-debug$`).MatchString(tagged.Tag()) {
		t.Errorf("BUMP_CONTAINER_IMAGE = %q, want ghcr.io/bump-gitops/bump at a release's -debug tag", img)
	}
	if job.Variables["BUMP_TIMEOUT"] == "" || job.Variables["BUMP_TIMEOUT"] == "0" {
		t.Errorf("no default BUMP_TIMEOUT")
	}
}
