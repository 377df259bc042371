package cli

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestLoggerScrubs: whatever a call site logs (message, string, error,
// group, logger attrs), the secret never reaches the output.
func TestLoggerScrubs(t *testing.T) {
	const secret = "tok-5ecret-7c1a"
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		secrets := &secretList{}
		log, err := newLogger(&buf, format, true, secrets)
		if err != nil {
			t.Fatal(err)
		}
		secrets.add(secret) // known only after the logger exists, as an App token
		log.With("url", "https://x:"+secret+"@h/r").WithGroup("g").Warn("saw "+secret,
			"err", fmt.Errorf("close #1: %w", errors.New("server says "+secret)),
			"s", secret, "any", []string{secret}, "n", 3)
		if out := buf.String(); strings.Contains(out, secret) || !strings.Contains(out, "server says ***") {
			t.Errorf("%s: %s", format, out)
		}
	}
}

func TestFinalErrorScrubbedAndBounded(t *testing.T) {
	s := &secretList{}
	s.add("tok-5ecret-7c1a")
	line := s.line(errors.New("push: 401 tok-5ecret-7c1a\n" + strings.Repeat("x", 1<<20)))
	if strings.Contains(line, "5ecret") || strings.Contains(line, "\n") || len(line) > 500 {
		t.Errorf("%d bytes: %.80q", len(line), line)
	}
}
