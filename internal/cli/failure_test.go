package cli

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/bump-gitops/bump/internal/bump"
)

// A run that pushed its branch and then failed on the pull request reports
// both in one JSON object: the outcome's fields and the error. Before,
// failedRun embedded *bump.Outcome, whose MarshalJSON was promoted: a nil
// outcome panicked and a non-nil one lost error and exit_code.
func TestReportErrorJSONKeepsOutcomeAndError(t *testing.T) {
	for _, tc := range []struct {
		name string
		out  *bump.Outcome
		want map[string]any
	}{
		{"no outcome", nil, map[string]any{"error": "boom", "exit_code": 1.0}},
		{"pushed, pull request failed", &bump.Outcome{Changed: true, Branch: "bump/api", Pushed: true},
			map[string]any{"error": "boom", "exit_code": 1.0, "branch": "bump/api", "pushed": true, "changed": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			reportError(&stdout, &stderr, formats{output: "json"}, tc.out, "boom", 1)
			var got map[string]any
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout.String())
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v (in %s)", k, got[k], v, stdout.String())
				}
			}
			if stderr.String() != "bump: boom\n" {
				t.Errorf("stderr = %q", stderr.String())
			}
		})
	}
}
