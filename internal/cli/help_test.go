package cli

import (
	"slices"
	"testing"
)

// TestCanonicalArgs: short forms become long ones so that -i and --image
// mix, and a value is never mistaken for a flag.
func TestCanonicalArgs(t *testing.T) {
	got := canonicalArgs(flags(), []string{"bump", "-i", "a:1", "--image=b:1", "--message", "-i", "-n", "-o=json", "--", "-p"})
	want := []string{"bump", "--image", "a:1", "--image=b:1", "--message", "-i", "--dry-run", "--output=json", "--", "-p"}
	if !slices.Equal(got, want) {
		t.Errorf("canonicalArgs = %q, want %q", got, want)
	}
}

func TestErrorFormats(t *testing.T) {
	env := map[string]string{"BUMP_OUTPUT": "json"}
	f := errorFormats(flags(), []string{"bump", "--message", "--output", "--log-format=json"}, func(k string) string { return env[k] })
	if f.output != "json" || f.log != "json" {
		t.Errorf("errorFormats = %+v: a flag's value was read as a flag, or the variable was lost", f)
	}
	f = errorFormats(flags(), []string{"bump", "--output", "text"}, func(k string) string { return env[k] })
	if f.output != "text" {
		t.Errorf("errorFormats = %+v: the flag must win over BUMP_OUTPUT", f)
	}
}

func TestSuggestFlag(t *testing.T) {
	for unknown, want := range map[string]string{"imgae": "image", "dryrun": "dry-run", "revewer": "reviewer", "zzzzzz": "", "x": ""} {
		if got := suggestFlag(flags(), unknown); got != want {
			t.Errorf("suggestFlag(%q) = %q, want %q", unknown, got, want)
		}
	}
}
