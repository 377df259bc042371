package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bump-gitops/bump/internal/bump"
	"github.com/bump-gitops/bump/internal/manifest"
)

// formats are the --output and --log-format a failed run was asked for.
type formats struct{ output, log string }

// errorFormats reads --output and --log-format from the arguments (the
// last one wins, as when parsing) or their variables. It does not need a
// successful parse: a run that fails on its command line still answers in
// the format the caller reads.
func errorFormats(flags []cli.Flag, args []string, getenv func(string) string) formats {
	f := formats{output: getenv("BUMP_OUTPUT"), log: getenv("BUMP_LOG_FORMAT")}
	takesValue := map[string]bool{}
	for _, fl := range flags {
		if df, ok := fl.(cli.DocGenerationFlag); ok && df.TakesValue() {
			takesValue["--"+fl.Names()[0]] = true
		}
	}
	for i := 1; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			break
		}
		name, value, hasValue := strings.Cut(arg, "=")
		if !hasValue && takesValue[name] && i+1 < len(args) {
			i++
			value = args[i]
		}
		switch name {
		case "--output":
			f.output = value
		case "--log-format":
			f.log = value
		}
	}
	return f
}

// failedRun is what --output json prints when the run fails: the outcome
// so far, if any, with the error and the exit status, so that a pipeline
// reading stdout with jq always gets one object.
type failedRun struct {
	outcome  *bump.Outcome
	Error    string `json:"error"`
	ExitCode int    `json:"exit_code"`
}

// MarshalJSON writes the outcome's keys (by its own MarshalJSON), then
// error and exit_code. Embedding the outcome would promote its
// MarshalJSON, which drops the error and panics on a nil outcome.
func (f failedRun) MarshalJSON() ([]byte, error) {
	type plain failedRun
	tail, err := json.Marshal(plain(f))
	if err != nil || f.outcome == nil {
		return tail, err
	}
	head, err := json.Marshal(f.outcome)
	if err != nil || len(head) < 2 || string(head) == "{}" {
		return tail, err
	}
	return append(append(head[:len(head)-1:len(head)-1], ','), tail[1:]...), nil
}

// reportError says why the run failed, once: on stderr as one line, or
// as one JSON log record at level ERROR with --log-format json; and with
// --output json also as a JSON object on stdout.
// msg is the error as the user reads it: scrubbed, one bounded line.
func reportError(stdout, stderr io.Writer, f formats, out *bump.Outcome, msg string, code int) {
	if f.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		v := failedRun{outcome: out, Error: msg, ExitCode: code}
		if out != nil && out.Changes == nil {
			o := *out
			o.Changes = []manifest.Change{}
			v.outcome = &o
		}
		enc.Encode(v)
	}
	if f.log == "json" {
		slog.New(slog.NewJSONHandler(stderr, nil)).Error(msg, "exit_code", code)
		return
	}
	fmt.Fprintf(stderr, "bump: %s\n", msg)
}
