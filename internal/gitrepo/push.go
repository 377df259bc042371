package gitrepo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
)

// pushObjects sends exactly the objects Commit wrote, in one pack, with a
// single ref update whose old value is the lease. go-git's own push would
// first walk every object reachable from the remote's refs to work out
// what the remote lacks: on a 20,000-file repo that walk costs more than
// the clone. bump already knows the answer, because it wrote them.
func (r *Repo) pushObjects(ctx context.Context, objects []plumbing.Hash, commit plumbing.Hash, dst plumbing.ReferenceName, expected plumbing.Hash) error {
	ep, err := transport.NewEndpoint(r.url)
	if err != nil {
		return err
	}
	cl, err := client.NewClient(ep)
	if err != nil {
		return err
	}
	sess, err := cl.NewReceivePackSession(ep, r.auth)
	if err != nil {
		return err
	}
	defer sess.Close()
	adv, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return err
	}
	refs, err := adv.AllReferences()
	if err != nil {
		return err
	}
	// Check the lease before sending anything; the server checks it again,
	// atomically, against the old value in the command.
	current := plumbing.ZeroHash
	if ref, ok := refs[dst]; ok {
		current = ref.Hash()
	}
	if current == commit {
		return nil
	}
	if current != expected {
		return fmt.Errorf("%w: %s is at %s, expected %s", ErrRejected, dst.Short(), short(current.String()), orNone(expected))
	}

	// The same blob may be written for two paths, or by two commits of a
	// chain; a pack holds each object once.
	slices.SortFunc(objects, func(a, b plumbing.Hash) int { return bytes.Compare(a[:], b[:]) })
	objects = slices.Compact(objects)

	req := packp.NewReferenceUpdateRequestFromCapabilities(adv.Capabilities)
	req.Commands = []*packp.Command{{Name: dst, Old: expected, New: commit}}
	pr, pw := io.Pipe()
	req.Packfile = pr
	done := make(chan error, 1)
	go func() {
		// No delta search (window 0): the new trees and blobs share little
		// with each other, and git's real saving, deltas against the
		// remote's old versions (a thin pack), go-git cannot make. On 200
		// changed files of 20,000 the search cost 250 ms of CPU to make
		// the pack 8% smaller.
		_, err := packfile.NewEncoder(pw, r.repo.Storer, false).Encode(objects, 0)
		done <- pw.CloseWithError(err)
	}()
	report, err := sess.ReceivePack(ctx, req)
	if err != nil {
		_ = pr.Close()
		<-done
		return err
	}
	if err := <-done; err != nil {
		return err
	}
	if report != nil {
		if err := report.Error(); err != nil {
			return err
		}
	}
	return nil
}

func orNone(h plumbing.Hash) string {
	if h.IsZero() {
		return "no branch"
	}
	return short(h.String())
}
