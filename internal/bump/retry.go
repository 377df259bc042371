package bump

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/bump-gitops/bump/internal/forge"
	"github.com/bump-gitops/bump/internal/gitrepo"
	"github.com/bump-gitops/bump/internal/imageref"
)

// maxTransient bounds the tries after server or network failures.
const maxTransient = 3

// retryWait is the wait before retry number attempt: exponential from
// 200ms up to 6.4s, drawn from the upper half so racing pipelines spread out.
func retryWait(attempt int) time.Duration {
	d := forge.Backoff(attempt, 200*time.Millisecond, 6400*time.Millisecond)
	return d/2 + rand.N(d/2)
}

// openRepo opens the local checkout, or clones RepoURL, trying again after
// a server or network failure.
func openRepo(ctx context.Context, opts Options, log *slog.Logger) (*gitrepo.Repo, error) {
	if opts.RepoURL == "" {
		return gitrepo.Open(ctx, opts.Dir, opts.Auth)
	}
	for attempt := 1; ; attempt++ {
		repo, err := gitrepo.Clone(ctx, gitrepo.CloneOptions{
			URL:     opts.RepoURL,
			Auth:    opts.Auth,
			Branch:  opts.Base,
			Secrets: opts.Secrets,
			Depth:   historyDepth(opts.Source),
		})
		if !errors.Is(err, gitrepo.ErrTransient) {
			return repo, err
		}
		if attempt == maxTransient {
			return nil, fmt.Errorf("gave up after %d tries: %w", attempt, err)
		}
		log.Info("clone failed, retrying", "attempt", attempt, "err", err)
		if err := forge.Sleep(ctx, retryWait(attempt)); err != nil {
			return nil, err
		}
	}
}

// attempts tries the bump until it lands: a push refused because the
// branch moved (a lost race) is retried up to MaxAttempts times, a server
// or network failure maxTransient times, each time on the latest base. It
// returns the last attempt's outcome and images.
func (r *run) attempts(ctx context.Context) (*Outcome, []imageref.Ref, error) {
	var (
		out  *Outcome
		refs []imageref.Ref
		err  error
	)
	transient := 0
	for attempt := 1; ; attempt++ {
		out, refs, err = r.attempt(ctx)
		if errors.Is(err, gitrepo.ErrTransient) {
			// A push whose answer was lost may have landed: the next
			// attempt starts from the remote's state and finds out.
			transient++
			if transient >= maxTransient {
				break
			}
		} else if !errors.Is(err, gitrepo.ErrRejected) || attempt >= r.opts.MaxAttempts {
			break
		}
		wait := retryWait(attempt)
		r.log.Info("push failed, retrying on the latest tip", "attempt", attempt, "wait", wait, "err", err)
		if err := forge.Sleep(ctx, wait); err != nil {
			return nil, nil, err
		}
		if _, _, err := r.repo.FetchBranch(ctx, r.repo.BaseBranch()); err != nil {
			return nil, nil, fmt.Errorf("refresh %s: %w", r.repo.BaseBranch(), err)
		}
	}
	switch {
	case errors.Is(err, gitrepo.ErrRejected):
		return nil, nil, fmt.Errorf("gave up after %d attempts: %w", r.opts.MaxAttempts, err)
	case errors.Is(err, gitrepo.ErrTransient):
		return nil, nil, fmt.Errorf("gave up after %d tries: %w", transient, err)
	case err != nil:
		return nil, nil, err
	}
	return out, refs, nil
}
