package cli

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	info := &debug.BuildInfo{
		Main:     debug.Module{Version: "v1.4.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-11-01T10:00:00Z"}},
	}
	// go install …@v1.4.0, or a build in a checkout: the go command's record.
	if v, c, d := fromBuildInfo(info, "dev", "none", "unknown"); v != "v1.4.0" || c != "abc123" || d != "2026-11-01T10:00:00Z" {
		t.Errorf("defaults: got %s %s %s", v, c, d)
	}
	// Release builds stamp all three with -ldflags: those win.
	if v, c, d := fromBuildInfo(info, "v2.0.0", "def", "today"); v != "v2.0.0" || c != "def" || d != "today" {
		t.Errorf("ldflags: got %s %s %s", v, c, d)
	}
	// A plain `go run` records neither.
	if v, c, d := fromBuildInfo(&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev", "none", "unknown"); v != "dev" || c != "none" || d != "unknown" {
		t.Errorf("go run: got %s %s %s", v, c, d)
	}
}
