package gitea

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/bump-gitops/bump/internal/forge"
)

// wrapPR is wrap for calls on one pull request, whose 404 more likely
// means the pull request is gone than the repository.
func (c *Client) wrapPR(err error, resp *sdk.Response, action string, number int) error {
	if status(resp) == http.StatusNotFound {
		return fmt.Errorf("%s: %w: pull request #%d of %s/%s not found or token cannot see it", action, forge.ErrNotFound, number, c.owner, c.name)
	}
	return c.wrap(err, resp, action)
}

// wrap turns an SDK error into one line wrapping a forge sentinel, in
// Gitea's own words (the SDK's error is the body's "message").
func (c *Client) wrap(err error, resp *sdk.Response, action string) error {
	code := status(resp)
	if code == 0 {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%s: %w", action, err)
		}
		return fmt.Errorf("%s: %w: %s", action, forge.ErrUnavailable, forge.OneLine(err.Error()))
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "unknown API error") {
		// Not Gitea's JSON: a proxy's page, or a body cut to its prefix.
		msg = fmt.Sprintf("gitea answered %d with no readable message", code)
	}
	return c.mapStatus(code, forge.OneLine(msg), resp.Header, action)
}

// mapStatus maps an HTTP status and Gitea's message to a forge sentinel.
func (c *Client) mapStatus(code int, msg string, h http.Header, action string) error {
	repo := c.owner + "/" + c.name
	switch {
	case code == http.StatusUnauthorized:
		return fmt.Errorf("%s: %w: bad or expired token: %s", action, forge.ErrUnauthorized, msg)
	case code == http.StatusForbidden:
		return fmt.Errorf("%s: %w: token lacks permission on %s (needs the write:repository and write:issue scopes): %s", action, forge.ErrForbidden, repo, msg)
	case code == http.StatusNotFound:
		return fmt.Errorf("%s: %w: repository %s not found or token cannot see it", action, forge.ErrNotFound, repo)
	case code == http.StatusConflict:
		return fmt.Errorf("%s: %w: %s", action, forge.ErrExists, msg)
	case code == http.StatusTooManyRequests:
		d, _ := forge.RetryAfter(h, time.Now())
		return fmt.Errorf("%s: %w", action, &forge.RateLimitError{RetryAfter: d, Message: msg})
	case code == http.StatusUnprocessableEntity || code == http.StatusBadRequest || code == http.StatusMethodNotAllowed:
		return fmt.Errorf("%s: %w: %s", action, forge.ErrValidation, msg)
	case code >= 500:
		return fmt.Errorf("%s: %w: gitea answered %d after retries: %s", action, forge.ErrUnavailable, code, msg)
	}
	return fmt.Errorf("%s: gitea answered %d: %s", action, code, msg)
}

func status(resp *sdk.Response) int {
	if resp == nil || resp.Response == nil {
		return 0
	}
	return resp.StatusCode
}
