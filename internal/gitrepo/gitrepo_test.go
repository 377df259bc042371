package gitrepo_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os/exec"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/bump-gitops/bump/internal/gitrepo"
	"github.com/bump-gitops/bump/internal/gitrepo/gittest"
)

var files = map[string]string{
	"apps/api/deploy.yaml": "image: ghcr.io/acme/api:v1\n",
	"apps/web/deploy.yaml": "image: ghcr.io/acme/web:v1\n",
	"README.md":            "# manifests\n",
}

var me = gitrepo.Identity{Name: "Bump Bot", Email: "bot@example.com"}

func clone(t *testing.T, s *gittest.Server, url, branch string) *gitrepo.Repo {
	t.Helper()
	r, err := gitrepo.Clone(context.Background(), gitrepo.CloneOptions{
		URL: url, Branch: branch, Auth: gitrepo.Auth{Username: s.User, Password: s.Password},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCloneReadCommitPush(t *testing.T) {
	ctx := context.Background()
	s := gittest.NewServer(t)
	url := s.CreateRepo(t, "m", files)
	r := clone(t, s, url, "")
	if r.BaseBranch() != "main" || r.BaseCommit() != s.Head("m", "main") {
		t.Fatalf("base = %s@%s, want main@%s", r.BaseBranch(), r.BaseCommit(), s.Head("m", "main"))
	}
	tree, err := r.TreeFS(r.BaseCommit())
	if err != nil {
		t.Fatal(err)
	}
	want := fstest.MapFS{}
	for p, c := range files {
		want[p] = &fstest.MapFile{Data: []byte(c)}
	}
	if err := fstest.TestFS(tree, "apps/api/deploy.yaml", "apps/web/deploy.yaml", "README.md"); err != nil {
		t.Fatal(err)
	}
	got, _ := fs.ReadFile(tree, "apps/api/deploy.yaml")
	if string(got) != files["apps/api/deploy.yaml"] {
		t.Fatalf("read %q", got)
	}

	commit, err := r.Commit(ctx, gitrepo.CommitRequest{
		Parent:  r.BaseCommit(),
		Files:   map[string][]byte{"apps/api/deploy.yaml": []byte("image: ghcr.io/acme/api:v2\n")},
		Message: "bump api\n",
		Author:  me,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Push(ctx, commit, "bump/api", ""); err != nil {
		t.Fatal(err)
	}
	if s.Head("m", "bump/api") != commit {
		t.Fatalf("remote bump/api = %q, want %s", s.Head("m", "bump/api"), commit)
	}
	// Exactly one commit on top of main, touching exactly one file.
	dir := s.RepoDir("m")
	if n := gittest.Git(t, dir, "rev-list", "--count", "main..bump/api"); n != "1" {
		t.Errorf("%s commits on the branch, want 1", n)
	}
	if d := gittest.Git(t, dir, "diff", "--name-only", "main", "bump/api"); d != "apps/api/deploy.yaml" {
		t.Errorf("changed files = %q", d)
	}
	if a := gittest.Git(t, dir, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s", "bump/api"); a != "Bump Bot <bot@example.com>|Bump Bot <bot@example.com>|bump api" {
		t.Errorf("author/committer/subject = %q", a)
	}
	if fsck, err := gittest.RunGit(dir, nil, "fsck", "--strict"); err != nil {
		t.Errorf("fsck: %v %s", err, fsck)
	}

	// Rebuilding the branch with the lease on its current tip replaces it.
	c2, err := r.Commit(ctx, gitrepo.CommitRequest{Parent: r.BaseCommit(), Files: map[string][]byte{"README.md": []byte("x\n")}, Message: "again", Author: me})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Push(ctx, c2, "bump/api", commit); err != nil {
		t.Fatalf("push with a correct lease: %v", err)
	}
	// A lease on a stale tip is refused and leaves the branch alone.
	err = r.Push(ctx, commit, "bump/api", commit)
	if !errors.Is(err, gitrepo.ErrRejected) {
		t.Fatalf("push with a stale lease: %v, want ErrRejected", err)
	}
	if s.Head("m", "bump/api") != c2 {
		t.Fatal("stale push moved the branch")
	}
	// "Must not exist" is a lease too.
	if err := r.Push(ctx, commit, "bump/api", ""); !errors.Is(err, gitrepo.ErrRejected) {
		t.Fatalf("push of an existing branch expected absent: %v", err)
	}
}

func TestPushToBaseRace(t *testing.T) {
	ctx := context.Background()
	s := gittest.NewServer(t)
	url := s.CreateRepo(t, "m", files)
	r := clone(t, s, url, "main")
	commit, err := r.Commit(ctx, gitrepo.CommitRequest{Parent: r.BaseCommit(), Files: map[string][]byte{"README.md": []byte("mine\n")}, Message: "mine", Author: me})
	if err != nil {
		t.Fatal(err)
	}
	// Someone else lands on main first.
	theirs := s.Commit(t, "m", "main", map[string]string{"apps/web/deploy.yaml": "image: ghcr.io/acme/web:v9\n"}, "theirs")
	err = r.Push(ctx, commit, "main", r.BaseCommit())
	if !errors.Is(err, gitrepo.ErrRejected) {
		t.Fatalf("push onto a moved base: %v, want ErrRejected", err)
	}
	if s.Head("m", "main") != theirs {
		t.Fatal("main was overwritten")
	}
	// Fetching moves the base; a commit on the new tip lands.
	head, ok, err := r.FetchBranch(ctx, "main")
	if err != nil || !ok || head != theirs || r.BaseCommit() != theirs {
		t.Fatalf("fetch: %s %v %v (base %s), want %s", head, ok, err, r.BaseCommit(), theirs)
	}
	commit, err = r.Commit(ctx, gitrepo.CommitRequest{Parent: r.BaseCommit(), Files: map[string][]byte{"README.md": []byte("mine\n")}, Message: "mine", Author: me})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Push(ctx, commit, "main", r.BaseCommit()); err != nil {
		t.Fatal(err)
	}
	if got := s.File(t, "m", "main", "apps/web/deploy.yaml"); got != "image: ghcr.io/acme/web:v9\n" {
		t.Errorf("their change was lost: %q", got)
	}
}

func TestAuthAndNotFound(t *testing.T) {
	ctx := context.Background()
	s := gittest.NewServer(t)
	url := s.CreateRepo(t, "m", files)
	const canary = "canary-token-5f2b9a"
	_, err := gitrepo.Clone(ctx, gitrepo.CloneOptions{URL: url, Auth: gitrepo.Auth{Username: "x-access-token", Password: canary}})
	if !errors.Is(err, gitrepo.ErrAuth) {
		t.Fatalf("bad token: %v, want ErrAuth", err)
	}
	if strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), "\n") {
		t.Errorf("error leaks the token or spans lines: %q", err)
	}
	// The token inside the URL is scrubbed too.
	withUser := strings.Replace(url, "http://", "http://x-access-token:"+canary+"@", 1)
	_, err = gitrepo.Clone(ctx, gitrepo.CloneOptions{URL: withUser})
	if err == nil || strings.Contains(err.Error(), canary) {
		t.Errorf("credentials in URL: %v", err)
	}
	_, err = gitrepo.Clone(ctx, gitrepo.CloneOptions{URL: s.RepoURL("nope"), Auth: gitrepo.Auth{Password: s.Password}})
	if !errors.Is(err, gitrepo.ErrNotFound) {
		t.Errorf("missing repo: %v, want ErrNotFound", err)
	}
}

func TestSignedCommit(t *testing.T) {
	ctx := context.Background()
	s := gittest.NewServer(t)
	url := s.CreateRepo(t, "m", files)
	r := clone(t, s, url, "")

	entity, err := openpgp.NewEntity("Bump Bot", "", "bot@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	var priv, pub bytes.Buffer
	w, _ := armor.Encode(&priv, openpgp.PrivateKeyType, nil)
	if err := entity.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	w, _ = armor.Encode(&pub, openpgp.PublicKeyType, nil)
	entity.Serialize(w)
	w.Close()

	commit, err := r.Commit(ctx, gitrepo.CommitRequest{Parent: r.BaseCommit(), Files: map[string][]byte{"README.md": []byte("signed\n")}, Message: "signed\n", Author: me, SigningKey: priv.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Push(ctx, commit, "signed", ""); err != nil {
		t.Fatal(err)
	}
	// Verify the signature over the commit as git stores it: the object
	// without its gpgsig header, signed by the key's public half.
	cmd := exec.Command("git", "cat-file", "commit", commit)
	cmd.Dir, cmd.Env = s.RepoDir("m"), gittest.Env(t.TempDir())
	rawBytes, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	raw := string(rawBytes)
	var payload, sig strings.Builder
	inSig := false
	for _, line := range strings.SplitAfter(raw, "\n") {
		switch {
		case strings.HasPrefix(line, "gpgsig "):
			inSig = true
			sig.WriteString(strings.TrimPrefix(line, "gpgsig "))
		case inSig && strings.HasPrefix(line, " "):
			sig.WriteString(line[1:])
		default:
			inSig = false
			payload.WriteString(line)
		}
	}
	if sig.Len() == 0 {
		t.Fatalf("commit has no signature:\n%s", raw)
	}
	keyring, err := openpgp.ReadArmoredKeyRing(&pub)
	if err != nil {
		t.Fatal(err)
	}
	body := payload.String()
	if _, err := openpgp.CheckArmoredDetachedSignature(keyring, strings.NewReader(body), strings.NewReader(sig.String()), nil); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	// A tampered payload must not verify: the check above can fail.
	if _, err := openpgp.CheckArmoredDetachedSignature(keyring, strings.NewReader(body+"x"), strings.NewReader(sig.String()), nil); err == nil {
		t.Fatal("tampered commit verifies")
	}
	// A passphrase-protected key is refused with a clear message.
	_, err = r.Commit(ctx, gitrepo.CommitRequest{Parent: r.BaseCommit(), Files: map[string][]byte{"README.md": []byte("x\n")}, Message: "x", Author: me, SigningKey: []byte("not a key")})
	if err == nil || !strings.Contains(err.Error(), "signing key") {
		t.Errorf("bad key: %v", err)
	}
}

func TestValidBranchName(t *testing.T) {
	for _, ok := range []string{"bump/api", "bump/api+worker", "deploy/api-v1.2.3", "a_b"} {
		if err := gitrepo.ValidBranchName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-x", "a..b", "a b", "a~1", "a^", "a:b", "x.lock", "a/.b", "a//b", "/a", "a/", "a.", "a@{1}", "a\nb", "a*", "a?", "a[", `a\b`} {
		if err := gitrepo.ValidBranchName(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func TestScrub(t *testing.T) {
	base := errors.New("clone https://user:s3cr3t-tok@example.com/x.git: token s3cr3t-tok rejected")
	err := gitrepo.Scrub(base, "s3cr3t-tok")
	if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "user:") {
		t.Errorf("scrubbed = %q", err)
	}
	if !errors.Is(err, base) {
		t.Error("scrubbing broke errors.Is")
	}
	_ = time.Second
}
