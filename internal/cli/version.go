package cli

// Set at build time with -ldflags "-X github.com/bump-gitops/bump/internal/cli.version=…".
// These are the only package-level variables: the linker can set nothing else.
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func versionString() string {
	return "bump " + version + " (commit " + commit + ", built " + date + ")"
}
