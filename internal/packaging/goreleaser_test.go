package packaging

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

type goreleaserConfig struct {
	Version int `json:"version"`
	Builds  []struct {
		Main         string   `json:"main"`
		Env          []string `json:"env"`
		Goos         []string `json:"goos"`
		Goarch       []string `json:"goarch"`
		Flags        []string `json:"flags"`
		Ldflags      []string `json:"ldflags"`
		ModTimestamp string   `json:"mod_timestamp"`
	} `json:"builds"`
	Archives []struct {
		NameTemplate    string   `json:"name_template"`
		Formats         []string `json:"formats"`
		FormatOverrides []struct {
			Goos    string   `json:"goos"`
			Formats []string `json:"formats"`
		} `json:"format_overrides"`
	} `json:"archives"`
	Checksum struct {
		NameTemplate string `json:"name_template"`
		Algorithm    string `json:"algorithm"`
	} `json:"checksum"`
}

var stamp = regexp.MustCompile(`-X (\S+)=`)

// stamps lists the variables a build command sets with -X.
func stamps(s string) []string {
	var out []string
	for _, m := range stamp.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return out
}

// TestGoreleaserConfig: the archives install.sh expects, stamped like the
// Dockerfile's binary, reproducibly.
func TestGoreleaserConfig(t *testing.T) {
	var c goreleaserConfig
	if err := yaml.Unmarshal([]byte(readString(t, filepath.Join(root, ".goreleaser.yaml"))), &c); err != nil {
		t.Fatal(err)
	}
	if c.Version != 2 || len(c.Builds) != 1 || len(c.Archives) != 1 {
		t.Fatalf("want version 2, one build, one archive: %+v", c)
	}
	b := c.Builds[0]
	if b.Main != "./cmd/bump" || !slices.Contains(b.Env, "CGO_ENABLED=0") || !slices.Contains(b.Flags, "-trimpath") || b.ModTimestamp == "" {
		t.Errorf("build is not static, trimmed and reproducible: %+v", b)
	}
	for _, want := range []string{"linux", "darwin", "windows"} {
		if !slices.Contains(b.Goos, want) {
			t.Errorf("no %s build", want)
		}
	}
	if !slices.Equal(b.Goarch, []string{"amd64", "arm64"}) {
		t.Errorf("goarch = %v", b.Goarch)
	}
	docker := regexp.MustCompile(`go build -trimpath -ldflags "([^"]*)"`).FindStringSubmatch(readString(t, filepath.Join(root, "Dockerfile")))
	if docker == nil {
		t.Fatal("no build line in the Dockerfile")
	}
	ld := strings.Join(b.Ldflags, " ")
	if got, want := stamps(ld), stamps(docker[1]); len(want) != 3 || !slices.Equal(got, want) {
		t.Errorf("goreleaser stamps %v, the Dockerfile %v", got, want)
	}
	if !strings.Contains(ld, "-s -w") {
		t.Errorf("ldflags %q do not strip", ld)
	}
	// install.sh builds these names: bump_<version>_<os>_<arch>.tar.gz, .zip on Windows.
	a := c.Archives[0]
	if a.NameTemplate != "{{ .ProjectName }}_{{ .Version }}_{{ .Os }}_{{ .Arch }}" || !slices.Equal(a.Formats, []string{"tar.gz"}) ||
		len(a.FormatOverrides) != 1 || a.FormatOverrides[0].Goos != "windows" || !slices.Equal(a.FormatOverrides[0].Formats, []string{"zip"}) {
		t.Errorf("archive names or formats differ from what install.sh expects: %+v", a)
	}
	if c.Checksum.NameTemplate != "{{ .ProjectName }}_{{ .Version }}_checksums.txt" || c.Checksum.Algorithm != "sha256" {
		t.Errorf("checksum = %+v", c.Checksum)
	}
	install := readString(t, filepath.Join(root, "scripts", "install.sh"))
	for _, want := range []string{`asset="bump_${v}_${os}_${arch}.${ext}"`, `sums="bump_${v}_checksums.txt"`} {
		if !strings.Contains(install, want) {
			t.Errorf("install.sh lacks %s", want)
		}
	}
}
