package config

import (
	"reflect"
	"testing"
)

// TestMerge: the last layer that sets a setting wins; nil leaves it to
// the layers below, and an empty list is a setting.
func TestMerge(t *testing.T) {
	str := func(s string) *string { return &s }
	yes, no := true, false
	low := Layer{Base: str("main"), Title: str("low"), Labels: []string{"a"}, Paths: []string{"x"}, Draft: &yes, SkipInvalid: &yes}
	mid := Layer{Title: str("mid"), Labels: []string{}, Draft: &no}
	high := Layer{Repo: str("r"), Reviewers: []string{"r1"}}
	got := Merge(low, mid, high)
	want := Layer{Base: str("main"), Title: str("mid"), Labels: []string{}, Paths: []string{"x"}, Draft: &no, SkipInvalid: &yes,
		Repo: str("r"), Reviewers: []string{"r1"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Merge:\n got %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(Merge(), Layer{}) {
		t.Error("Merge of nothing sets something")
	}
}

// TestLayerRoundTrip: a file's settings survive the trip through Layer,
// so Resolve reads as it did.
func TestLayerRoundTrip(t *testing.T) {
	b := Bool(false)
	s := Settings{Paths: []string{}, Base: "main", MergeMethod: "rebase", Forge: "gitlab", PushToBase: &b, Labels: []string{"l"}}
	if got := s.Layer().settings(); !reflect.DeepEqual(got, s) {
		t.Errorf("got %+v\nwant %+v", got, s)
	}
}
