package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// CommitRequest describes one commit on top of Parent.
type CommitRequest struct {
	Parent     string            // hex hash
	Files      map[string][]byte // slash paths → full new content; existing modes are kept
	Message    string
	Author     Identity
	Committer  Identity // empty: the author
	SigningKey []byte   // armored OpenPGP private key, optional
	When       time.Time
}

// Commit writes the changed blobs, the trees on their paths and the commit
// as objects, touching nothing else: no work tree, no index.
func (r *Repo) Commit(ctx context.Context, req CommitRequest) (string, error) {
	if req.Author.Name == "" || req.Author.Email == "" {
		return "", errors.New("commit: author name and email are required")
	}
	parent, err := commitObject(r.repo, req.Parent)
	if err != nil {
		return "", fmt.Errorf("commit: read parent %s: %w", short(req.Parent), err)
	}
	root, err := parent.Tree()
	if err != nil {
		return "", fmt.Errorf("commit: read tree of %s: %w", short(req.Parent), err)
	}
	changes := make(map[string][]byte, len(req.Files))
	for p, data := range req.Files {
		if !validPath(p) {
			return "", fmt.Errorf("commit: invalid path %q", p)
		}
		changes[p] = data
	}
	var written []plumbing.Hash
	treeHash, err := r.writeTree(ctx, root, "", changes, &written)
	if err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	when := req.When
	if when.IsZero() {
		when = time.Now()
	}
	sig := object.Signature{Name: req.Author.Name, Email: req.Author.Email, When: when}
	committer := sig
	if req.Committer.Name != "" && req.Committer.Email != "" {
		committer.Name, committer.Email = req.Committer.Name, req.Committer.Email
	}
	c := &object.Commit{
		Author:       sig,
		Committer:    committer,
		Message:      req.Message,
		TreeHash:     treeHash,
		ParentHashes: []plumbing.Hash{parent.Hash},
	}
	if len(req.SigningKey) > 0 {
		if c.PGPSignature, err = sign(c, req.SigningKey); err != nil {
			return "", err
		}
	}
	obj := r.repo.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return "", fmt.Errorf("commit: encode: %w", err)
	}
	h, err := r.repo.Storer.SetEncodedObject(obj)
	if err != nil {
		return "", fmt.Errorf("commit: store: %w", err)
	}
	r.mu.Lock()
	if r.written == nil {
		r.written = map[plumbing.Hash][]plumbing.Hash{}
	}
	// A commit on top of one of ours needs that one's objects pushed too:
	// the remote has only what it already had.
	written = append(written, h)
	written = append(written, r.written[parent.Hash]...)
	r.written[h] = written
	r.mu.Unlock()
	return h.String(), nil
}

func validPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || path.Clean(p) != p {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || seg == "." || seg == ".git" {
			return false
		}
	}
	return true
}

// writeTree rewrites tree (at dir) with the changes below it and returns
// the new tree's hash. Subtrees without changes are reused as they are.
func (r *Repo) writeTree(ctx context.Context, tree *object.Tree, dir string, changes map[string][]byte, written *[]plumbing.Hash) (plumbing.Hash, error) {
	if err := ctx.Err(); err != nil {
		return plumbing.ZeroHash, err
	}
	// Group the changes by their first path segment below dir.
	here := map[string][]byte{}
	below := map[string]map[string][]byte{}
	for p, data := range changes {
		first, rest, nested := strings.Cut(p, "/")
		if nested {
			if below[first] == nil {
				below[first] = map[string][]byte{}
			}
			below[first][rest] = data
		} else {
			here[first] = data
		}
	}
	entries := make([]object.TreeEntry, 0, len(tree.Entries)+len(here))
	seen := map[string]bool{}
	for _, e := range tree.Entries {
		seen[e.Name] = true
		switch {
		case here[e.Name] != nil:
			if e.Mode == filemode.Dir || e.Mode == filemode.Symlink || e.Mode == filemode.Submodule {
				return plumbing.ZeroHash, fmt.Errorf("%s is not a regular file", path.Join(dir, e.Name))
			}
			h, err := r.writeBlob(here[e.Name])
			if err != nil {
				return plumbing.ZeroHash, err
			}
			e.Hash = h
			*written = append(*written, h)
		case below[e.Name] != nil:
			if e.Mode != filemode.Dir {
				return plumbing.ZeroHash, fmt.Errorf("%s is not a directory", path.Join(dir, e.Name))
			}
			sub, err := tree.Tree(e.Name)
			if err != nil {
				return plumbing.ZeroHash, fmt.Errorf("read %s: %w", path.Join(dir, e.Name), err)
			}
			if e.Hash, err = r.writeTree(ctx, sub, path.Join(dir, e.Name), below[e.Name], written); err != nil {
				return plumbing.ZeroHash, err
			}
		}
		entries = append(entries, e)
	}
	// New files are not bump's business: it only rewrites what exists.
	for name := range here {
		if !seen[name] {
			return plumbing.ZeroHash, fmt.Errorf("%s does not exist in the base tree", path.Join(dir, name))
		}
	}
	for name := range below {
		if !seen[name] {
			return plumbing.ZeroHash, fmt.Errorf("%s does not exist in the base tree", path.Join(dir, name))
		}
	}
	sort.SliceStable(entries, func(i, j int) bool { return treeOrder(entries[i]) < treeOrder(entries[j]) })
	nt := &object.Tree{Entries: entries}
	obj := r.repo.Storer.NewEncodedObject()
	if err := nt.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	h, err := r.repo.Storer.SetEncodedObject(obj)
	*written = append(*written, h)
	return h, err
}

// treeOrder is git's sort key: directories compare as if named "name/".
func treeOrder(e object.TreeEntry) string {
	if e.Mode == filemode.Dir {
		return e.Name + "/"
	}
	return e.Name
}

func (r *Repo) writeBlob(data []byte) (plumbing.Hash, error) {
	obj := r.repo.Storer.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	obj.SetSize(int64(len(data)))
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(data); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return r.repo.Storer.SetEncodedObject(obj)
}

// sign makes the armored detached signature git stores in the gpgsig header.
func sign(c *object.Commit, armoredKey []byte) (string, error) {
	keys, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(armoredKey))
	if err != nil {
		return "", errors.New("signing key: not an armored OpenPGP private key")
	}
	var signer *openpgp.Entity
	for _, k := range keys {
		if k.PrivateKey != nil {
			signer = k
			break
		}
	}
	if signer == nil {
		return "", errors.New("signing key: the key ring holds no private key")
	}
	if signer.PrivateKey.Encrypted {
		return "", errors.New("signing key: it is protected by a passphrase; export it without one for CI")
	}
	enc := &plumbing.MemoryObject{}
	if err := c.EncodeWithoutSignature(enc); err != nil {
		return "", fmt.Errorf("sign commit: %w", err)
	}
	rd, err := enc.Reader()
	if err != nil {
		return "", fmt.Errorf("sign commit: %w", err)
	}
	defer rd.Close()
	var sig bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&sig, signer, rd, nil); err != nil {
		return "", fmt.Errorf("sign commit: %w", err)
	}
	return sig.String(), nil
}
