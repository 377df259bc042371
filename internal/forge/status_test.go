package forge

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestStatusError(t *testing.T) {
	base := APIError{Forge: "acmeforge", Message: "the forge's words", Forbidden: "token lacks scope on a/b", NotFound: "repository a/b not found"}
	tests := []struct {
		status int
		exists bool
		want   error
		text   string
	}{
		{http.StatusUnauthorized, false, ErrUnauthorized, "do it: unauthorized: bad or expired token"},
		{http.StatusForbidden, false, ErrForbidden, "do it: forbidden: token lacks scope on a/b: the forge's words"},
		{http.StatusNotFound, false, ErrNotFound, "do it: not found: repository a/b not found"},
		{http.StatusConflict, true, ErrExists, "do it: already exists: the forge's words"},
		{http.StatusUnprocessableEntity, true, ErrExists, "do it: already exists: the forge's words"},
		{http.StatusUnprocessableEntity, false, ErrValidation, "do it: validation failed: the forge's words"},
		{http.StatusBadRequest, false, ErrValidation, "do it: validation failed: the forge's words"},
		{http.StatusTooManyRequests, false, ErrRateLimited, "do it: rate limited: the forge's words"},
		{http.StatusBadGateway, false, ErrUnavailable, "do it: forge unavailable: acmeforge answered 502 after retries"},
		{http.StatusTeapot, false, nil, "do it: acmeforge answered 418: the forge's words"},
	}
	for _, tt := range tests {
		e := base
		e.Status, e.Exists = tt.status, tt.exists
		err := StatusError("do it", e)
		if tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%d: %v does not wrap %v", tt.status, err, tt.want)
		}
		if err.Error() != tt.text {
			t.Errorf("%d: %q, want %q", tt.status, err, tt.text)
		}
	}
	e := base
	e.Status, e.Header = http.StatusTooManyRequests, http.Header{"Retry-After": {"30"}}
	var rl *RateLimitError
	if err := StatusError("do it", e); !errors.As(err, &rl) || rl.RetryAfter != 30*time.Second || strings.Contains(err.Error(), "\n") {
		t.Errorf("429 with Retry-After: %v (%+v)", err, rl)
	}
}
