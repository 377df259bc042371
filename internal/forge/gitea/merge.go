package gitea

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bump-gitops/bump/internal/forge"
)

// mergeStyles are the styles Gitea's merge endpoint takes ("Do").
var mergeStyles = map[string]string{
	"": "merge", "merge": "merge", "squash": "squash", "rebase": "rebase",
	"rebase-merge": "rebase-merge", "fast-forward-only": "fast-forward-only",
}

// AutoMerge asks Gitea to merge pr with method once its checks succeed
// (merge_when_checks_succeed); Gitea merges at once when they already
// have. One call, retried within MergeWait while Gitea answers "Please try
// again later" (it is still checking a pull request just opened or
// pushed). A pull request already scheduled counts as done.
//
// The SDK's MergePullRequest drops Gitea's message on an error status, so
// this posts the request itself, through the same bounded client.
func (c *Client) AutoMerge(ctx context.Context, pr *forge.PullRequest, method string) error {
	action := fmt.Sprintf("enable auto-merge on pull request #%d", pr.Number)
	style, ok := mergeStyles[strings.ToLower(method)]
	if !ok {
		return fmt.Errorf("%s: %w: merge method %q is not merge, squash, rebase, rebase-merge or fast-forward-only", action, forge.ErrValidation, method)
	}
	body, err := json.Marshal(map[string]any{"Do": style, "merge_when_checks_succeed": true})
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	endpoint := fmt.Sprintf("%s/api/v1/repos/%s/%s/pulls/%d/merge", c.base, url.PathEscape(c.owner), url.PathEscape(c.name), pr.Number)
	deadline := time.Now().Add(c.mergeWait)
	wait := 250 * time.Millisecond
	for {
		code, msg, h, err := c.post(ctx, endpoint, body)
		if err != nil {
			return c.wrap(err, nil, action)
		}
		switch {
		case code == http.StatusOK || code == http.StatusCreated:
			return nil
		case code == http.StatusConflict && strings.Contains(msg, "already scheduled"):
			return nil
		case code == http.StatusMethodNotAllowed && strings.Contains(msg, "try again later") && time.Now().Add(wait).Before(deadline):
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("%s: %w", action, ctx.Err())
			case <-t.C:
			}
			wait = min(2*wait, 2*time.Second)
			continue
		case code == http.StatusNotFound:
			// Gitea answers 404 for a closed pull request too.
			return fmt.Errorf("%s: %w: pull request #%d of %s/%s not found, closed, or the token cannot see it", action, forge.ErrNotFound, pr.Number, c.owner, c.name)
		case code == http.StatusConflict:
			// A merge conflict or a head that moved: not "already exists".
			return fmt.Errorf("%s: %w: %s", action, forge.ErrValidation, msg)
		}
		return c.mapStatus(code, msg, h, action)
	}
}

// post sends one JSON POST and returns the status with Gitea's message.
func (c *Client) post(ctx context.Context, endpoint string, body []byte) (int, string, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, "", nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bump")
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, forge.ErrorBodyLimit))
	if resp.StatusCode/100 == 2 {
		return resp.StatusCode, "", resp.Header, nil
	}
	var e struct {
		Message string `json:"message"`
	}
	msg := fmt.Sprintf("gitea answered %d with no readable message", resp.StatusCode)
	if json.Unmarshal(data, &e) == nil && e.Message != "" {
		msg = e.Message
	}
	return resp.StatusCode, forge.OneLine(msg), resp.Header, nil
}
