package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary double as the bump binary: scripts and
// end-to-end tests run "bump" as a real process, with its real exit code.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"bump": main})
}

// TestScript runs the command-line scripts in testdata/script: each holds
// its input files, the commands, and the expected output. Scripts named
// remote_* also get a git server and a fake forge (see remote_test.go).
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") != "",
		Cmds:                remoteCmds,
		Setup: func(env *testscript.Env) error {
			// No CI variables leak in from the machine running the tests.
			for _, k := range []string{"GITHUB_ACTIONS", "GITLAB_CI", "BUMP_TOKEN", "GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN", "CI_JOB_TOKEN"} {
				env.Setenv(k, "")
			}
			env.Setenv("NO_COLOR", "1")
			return setupRemote(env)
		},
	})
}
