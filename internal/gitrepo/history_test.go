package gitrepo_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bump-gitops/bump/internal/gitrepo"
	"github.com/bump-gitops/bump/internal/gitrepo/gittest"
)

func TestLastCommitTouching(t *testing.T) {
	ctx := context.Background()
	s := gittest.NewServer(t)
	s.CreateRepo(t, "m", files)
	work := checkout(t, s)
	r, err := gitrepo.Open(ctx, work, gitrepo.Auth{Password: s.Password})
	if err != nil {
		t.Fatal(err)
	}
	commit := func(parent, file, content, msg string) string {
		c, err := r.Commit(ctx, gitrepo.CommitRequest{Parent: parent, Files: map[string][]byte{file: []byte(content)}, Message: msg, Author: me})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c1 := commit(r.BaseCommit(), "apps/api/deploy.yaml", "image: ghcr.io/acme/api:v2\n", "bump v2\n\nBump-Image: ghcr.io/acme/api:v2\n")
	c2 := commit(c1, "apps/web/deploy.yaml", "image: ghcr.io/acme/web:v2\n", "other\n\nBump-Image: ghcr.io/acme/api:v2\n") // does not touch the file
	c3 := commit(c2, "apps/api/deploy.yaml", "image: ghcr.io/acme/api:v2 # pinned\n", "hand edit\n")
	isBump := func(m string) bool { return strings.Contains(m, "Bump-Image: ghcr.io/acme/api:v2\n") }
	msg, ok, err := r.LastCommitTouching(ctx, c3, "apps/api/deploy.yaml", 500, isBump)
	if err != nil || !ok || !strings.HasPrefix(msg, "bump v2") {
		t.Fatalf("LastCommitTouching = %q %v %v, want the bump v2 commit", msg, ok, err)
	}
	// The walk is bounded: two commits back does not reach it.
	if _, ok, err := r.LastCommitTouching(ctx, c3, "apps/api/deploy.yaml", 2, isBump); ok || err != nil {
		t.Errorf("limit 2 found it (%v)", err)
	}
	if _, ok, err := r.LastCommitTouching(ctx, c3, filepath.ToSlash("apps/none.yaml"), 500, isBump); ok || err != nil {
		t.Errorf("a missing file found a commit (%v)", err)
	}
}
