package cli

import "runtime/debug"

// Set at build time with -ldflags "-X github.com/bump-gitops/bump/internal/cli.version=…";
// they are variables only because the linker can set nothing else.
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func versionString() string {
	v, c, d := version, commit, date
	if info, ok := debug.ReadBuildInfo(); ok {
		v, c, d = fromBuildInfo(info, v, c, d)
	}
	return "bump " + v + " (commit " + c + ", built " + d + ")"
}

// fromBuildInfo fills what the linker flags left at their defaults from
// what the go command recorded: the module version for `go install
// …@v1.2.3`, the commit and its time for a build in a git checkout.
func fromBuildInfo(info *debug.BuildInfo, v, c, d string) (string, string, string) {
	if v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision" && c == "none":
			c = s.Value
		case s.Key == "vcs.time" && d == "unknown":
			d = s.Value
		}
	}
	return v, c, d
}
