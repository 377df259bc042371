package gitrepo_test

import (
	"os/exec"
	"testing"

	"github.com/bump-gitops/bump/internal/gitrepo"
)

// TestValidBranchNameMatchesGit checks each name against the real
// `git check-ref-format --branch`; bump is stricter only where the table
// says so.
func TestValidBranchNameMatchesGit(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git")
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name     string
		stricter string // why bump refuses a name git accepts
	}{
		{name: "bump/api"},
		{name: "bump/api+worker"},
		{name: "deploy/api-v1.2.3"},
		{name: "a_b"},
		{name: "release@2"},
		{name: "x/y.z/w"},
		{name: "été"},
		{name: "refs/tags/v1", stricter: "a branch named refs/… reads as another ref"},
		{name: "refs/heads/main", stricter: "a branch named refs/… reads as another ref"},
		{name: "HEAD"},
		{name: "@", stricter: "@ means HEAD to git"},
		{name: ""},
		{name: "-x"},
		{name: "a/-x"},
		{name: "a..b"},
		{name: "a b"},
		{name: "a~1"},
		{name: "a^"},
		{name: "a:b"},
		{name: "a?"},
		{name: "a*"},
		{name: "a["},
		{name: `a\b`},
		{name: "a\x7fb"},
		{name: "a\tb"},
		{name: "a\nb"},
		{name: "x.lock"},
		{name: "a.lock/b"},
		{name: "a/.b"},
		{name: ".a"},
		{name: "a//b"},
		{name: "/a"},
		{name: "a/"},
		{name: "a."},
		{name: "a/."},
		{name: "a@{1}"},
		{name: "@{-1}"},
		{name: "a\xffb", stricter: "not UTF-8"},
	} {
		cmd := exec.Command(git, "check-ref-format", "--branch", tc.name)
		cmd.Dir = dir // outside any repository, so @{-1} has nothing to expand to
		gitOK := cmd.Run() == nil
		err := gitrepo.ValidBranchName(tc.name)
		want := gitOK && tc.stricter == ""
		if (err == nil) != want {
			t.Errorf("%q: ValidBranchName = %v; git accepts: %v; bump stricter: %q", tc.name, err, gitOK, tc.stricter)
		}
		if tc.stricter != "" && !gitOK {
			t.Errorf("%q: git refuses it too; drop the stricter note", tc.name)
		}
	}
}
