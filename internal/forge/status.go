package forge

import (
	"fmt"
	"net/http"
	"time"
)

// APIError is a failed API call as an adapter read it: the forge's answer,
// and what bump says beside it in the forge's own terms.
type APIError struct {
	Forge   string      // "github", as in "github answered 418"
	Status  int         // the HTTP status code
	Header  http.Header // for Retry-After on 429
	Message string      // the forge's own words, on one line
	// Forbidden is what a 403 means on this forge:
	// "token lacks permission/scope on acme/app".
	Forbidden string
	// NotFound is what a 404 means: "repository acme/app not found or token cannot see it".
	NotFound string
	// Exists says the forge refused because the object already exists
	// (GitHub says so in a 422, GitLab answers 409).
	Exists bool
}

// StatusError maps a failed call's HTTP status to a sentinel, wrapped with
// action and the forge's words: the one mapping every adapter uses.
func StatusError(action string, e APIError) error {
	switch code := e.Status; {
	case code == http.StatusUnauthorized:
		return fmt.Errorf("%s: %w: bad or expired token", action, ErrUnauthorized)
	case code == http.StatusForbidden:
		return fmt.Errorf("%s: %w: %s: %s", action, ErrForbidden, e.Forbidden, e.Message)
	case code == http.StatusNotFound:
		return fmt.Errorf("%s: %w: %s", action, ErrNotFound, e.NotFound)
	case e.Exists:
		return fmt.Errorf("%s: %w: %s", action, ErrExists, e.Message)
	case code == http.StatusTooManyRequests:
		d, _ := RetryAfter(e.Header, time.Now())
		return fmt.Errorf("%s: %w", action, &RateLimitError{RetryAfter: d, Message: e.Message})
	case code == http.StatusUnprocessableEntity || code == http.StatusBadRequest:
		return fmt.Errorf("%s: %w: %s", action, ErrValidation, e.Message)
	case code >= 500:
		return fmt.Errorf("%s: %w: %s answered %d after retries", action, ErrUnavailable, e.Forge, code)
	}
	return fmt.Errorf("%s: %s answered %d: %s", action, e.Forge, e.Status, e.Message)
}
