package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/bump-gitops/bump/internal/forge"
	gh "github.com/google/go-github/v60/github"
)

// AppOptions identifies a GitHub App and the repository it should act on.
type AppOptions struct {
	BaseURL    string // as Options.BaseURL
	AppID      int64
	PrivateKey []byte // PEM, as downloaded from the App's settings
	Repo       forge.Repo
	HTTPClient *http.Client
	Retry      forge.RetryOptions
}

// AppToken finds the App's installation on the repository and mints an
// installation token limited to that repository. Two API calls.
func AppToken(ctx context.Context, opts AppOptions) (string, error) {
	owner, name, ok := strings.Cut(opts.Repo.Path, "/")
	if !ok || owner == "" || name == "" {
		return "", fmt.Errorf("github app: repository %q is not owner/name", opts.Repo.Path)
	}
	if opts.AppID == 0 || len(opts.PrivateKey) == 0 {
		return "", errors.New("github app: app id and private key are required")
	}
	base, err := baseURL(opts.BaseURL)
	if err != nil {
		return "", err
	}
	hc := httpClient(opts.HTTPClient, opts.Retry)
	atr, err := ghinstallation.NewAppsTransport(hc.Transport, opts.AppID, opts.PrivateKey)
	if err != nil {
		// Never echo the key: the parse error says enough.
		return "", fmt.Errorf("github app %d: read private key: %w", opts.AppID, err)
	}
	hc.Transport = atr
	c := gh.NewClient(hc)
	c.BaseURL = base
	repo := owner + "/" + name
	inst, _, err := c.Apps.FindRepositoryInstallation(ctx, owner, name)
	if err != nil {
		var er *gh.ErrorResponse
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
			return "", fmt.Errorf("find installation of github app %d: %w: the app is not installed on %s", opts.AppID, forge.ErrNotFound, repo)
		}
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnauthorized {
			return "", fmt.Errorf("find installation of github app %d: %w: github rejected the app's JWT (wrong app id or key)", opts.AppID, forge.ErrUnauthorized)
		}
		return "", mapError(err, fmt.Sprintf("find installation of github app %d", opts.AppID), repo)
	}
	tok, _, err := c.Apps.CreateInstallationToken(ctx, inst.GetID(), &gh.InstallationTokenOptions{Repositories: []string{name}})
	if err != nil {
		return "", mapError(err, fmt.Sprintf("create installation token for github app %d", opts.AppID), repo)
	}
	if tok.GetToken() == "" {
		return "", fmt.Errorf("create installation token for github app %d: github returned no token", opts.AppID)
	}
	return tok.GetToken(), nil
}
