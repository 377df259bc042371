package bump

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bump-gitops/bump/internal/forge"
	"github.com/bump-gitops/bump/internal/imageref"
	"github.com/bump-gitops/bump/internal/manifest"
)

// ensurePullRequest finds the open pull request for the head branch and
// updates it, or opens one. Two runs racing to open it both end on the
// same one. The pull request must describe what the branch holds when the
// dust settles: a run that finds the branch moved on (a newer bump won the
// race) describes the new tip instead, so a late update from a slower run
// never leaves an older version in the title.
func (r *run) ensurePullRequest(ctx context.Context, out *Outcome, refs []imageref.Ref) (*PullRequest, error) {
	f := r.opts.Forge
	if f == nil {
		return nil, errors.New("no forge configured")
	}
	data := newTemplateDataFromOutcome(refs, r.opts.CI, out)
	data.Promotion = r.opts.Promotion
	data.addOrigins(r.origins)
	commit := out.Commit
	var (
		pr      *forge.PullRequest
		created bool
	)
	for range 3 {
		spec, err := pullRequestSpec(r.opts.PR, r.opts.Templates, refs, out, data)
		if err != nil {
			return nil, err
		}
		p, c, err := upsertPullRequest(ctx, f, spec)
		if err != nil {
			return nil, fmt.Errorf("pull request for %s: %w", spec.Head, err)
		}
		pr, created = p, created || c
		head, exists, err := r.repo.RemoteHead(ctx, out.Branch)
		if err != nil || !exists || head == commit {
			break
		}
		r.log.Info("branch moved on while updating the pull request; describing the new tip", "branch", out.Branch, "tip", head)
		commit = head
		if data, err = r.describeBranch(ctx, out, refs); err != nil {
			return nil, err
		}
	}
	if err := closeSuperseded(ctx, f, r.opts.Templates.Branch, refs, pr); err != nil {
		r.log.Warn("could not close superseded pull requests", "err", err)
	}
	return &PullRequest{Number: pr.Number, URL: pr.URL, Created: created}, nil
}

// pullRequestSpec fills in the request's base, head, title and body; the
// rest (labels, reviewers…) comes as given.
func pullRequestSpec(given forge.PullRequestSpec, t Templates, refs []imageref.Ref, out *Outcome, data *templateData) (forge.PullRequestSpec, error) {
	spec := given
	spec.Base, spec.Head = out.Base, out.Branch
	var err error
	if spec.Title, err = render("title", t.Title, fallback("title", data), data); err != nil {
		return spec, err
	}
	if spec.Body, err = render("body", t.Body, fallback("body", data), data); err != nil {
		return spec, err
	}
	spec.Title = strings.TrimSpace(spec.Title)
	spec.Body += "\n" + marker(refs)
	return spec, nil
}

// upsertPullRequest is "find, else create, else update", once.
func upsertPullRequest(ctx context.Context, f Forge, spec forge.PullRequestSpec) (*forge.PullRequest, bool, error) {
	pr, err := f.FindPullRequest(ctx, spec.Head, spec.Base)
	if err != nil {
		return nil, false, err
	}
	if pr != nil {
		pr, err = f.UpdatePullRequest(ctx, pr, spec)
		return pr, false, err
	}
	pr, err = f.CreatePullRequest(ctx, spec)
	if !errors.Is(err, forge.ErrExists) {
		return pr, err == nil, err
	}
	// Another run opened it between our find and create.
	if pr, err = f.FindPullRequest(ctx, spec.Head, spec.Base); err != nil {
		return nil, false, err
	}
	if pr == nil {
		return nil, false, fmt.Errorf("the forge says a pull request from %s exists, but none is open", spec.Head)
	}
	pr, err = f.UpdatePullRequest(ctx, pr, spec)
	return pr, false, err
}

// describeBranch builds the template data for whatever the head branch
// holds now: the versions on its tip, as changes against the base.
func (r *run) describeBranch(ctx context.Context, out *Outcome, refs []imageref.Ref) (*templateData, error) {
	head, exists, err := r.repo.FetchBranch(ctx, out.Branch)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, fmt.Errorf("branch %s disappeared", out.Branch)
	}
	tree, err := r.repo.TreeFS(head)
	if err != nil {
		return nil, err
	}
	onBranch, err := manifest.Find(ctx, tree, manifest.FindOptions{Images: refs, Paths: r.opts.Paths, SkipInvalid: true})
	if err != nil {
		return nil, err
	}
	baseTree, err := r.repo.TreeFS(r.repo.BaseCommit())
	if err != nil {
		return nil, err
	}
	described := versionsOn(refs, onBranch.References)
	ro := r.opts.rewriteOptions(described)
	ro.AllowDowngrade, ro.SkipInvalid = true, true
	res, err := manifest.Rewrite(ctx, baseTree, ro)
	if err != nil {
		return nil, err
	}
	// The CI links belong to the run that made that commit.
	d := newTemplateData(described, CI{}, res, out.Base)
	d.Promotion = r.opts.Promotion
	d.addOrigins(r.origins)
	return d, nil
}

// versionsOn is refs with each version replaced by the one a branch holds:
// the first reference to the image whose version this run would change
// (the parts this run writes: its tag, and its digest where the reference
// has one).
func versionsOn(refs []imageref.Ref, found []manifest.Reference) []imageref.Ref {
	images := make([]imageref.Ref, len(refs))
	for i, ref := range refs {
		images[i] = ref
		for _, f := range found {
			if f.Image != ref.Familiar() || (f.Tag == "" && f.Digest == "") {
				continue
			}
			if (ref.Tag != "" && f.Tag != ref.Tag) || (ref.Digest != "" && f.Digest != "" && f.Digest != ref.Digest) {
				images[i] = imageref.Ref{Name: ref.Name, Tag: f.Tag, Digest: f.Digest}
				break
			}
		}
	}
	return images
}

// closeSuperseded closes bump's own older pull requests for the same images
// when the branch template makes one branch per version; with the default
// stable branch there is nothing to close.
func closeSuperseded(ctx context.Context, f Forge, branchTemplate string, refs []imageref.Ref, current *forge.PullRequest) error {
	if !perVersionBranch(branchTemplate) {
		return nil
	}
	prs, err := f.ListPullRequests(ctx, current.Base)
	if err != nil {
		return err
	}
	mark := marker(refs)
	for i := range prs {
		pr := &prs[i]
		if pr.Number == current.Number || !containsLine(pr.Body, mark) {
			continue
		}
		comment := fmt.Sprintf("Superseded by %s.", current.URL)
		if err := f.ClosePullRequest(ctx, pr, comment); err != nil {
			return fmt.Errorf("close #%d: %w", pr.Number, err)
		}
	}
	return nil
}
