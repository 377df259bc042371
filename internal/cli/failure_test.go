package cli

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/bump-gitops/bump/internal/bump"
)

// TestReportErrorJSON: a failed run with --output json prints one object
// holding the outcome so far, if any, with the error and the exit code.
// (Outcome's own MarshalJSON, promoted through the embedded pointer,
// panicked on a nil outcome and dropped the error from any other.)
func TestReportErrorJSON(t *testing.T) {
	for _, tt := range []struct {
		name string
		out  *bump.Outcome
		want map[string]any
	}{
		{"no outcome", nil, map[string]any{"error": "boom", "exit_code": 1.0}},
		{"outcome", &bump.Outcome{Changed: true, Branch: "bump/x"}, map[string]any{
			"changed": true, "changes": []any{}, "branch": "bump/x", "pushed": false, "error": "boom", "exit_code": 1.0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			reportError(&stdout, &stderr, formats{output: "json"}, tt.out, "boom", 1)
			var got map[string]any
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatalf("stdout %q: %v", stdout.String(), err)
			}
			if b1, b2 := mustJSON(t, got), mustJSON(t, tt.want); b1 != b2 {
				t.Errorf("got %s, want %s", b1, b2)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
