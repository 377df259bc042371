package bump

import (
	"context"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/bump-gitops/bump/internal/gitrepo/gittest"
	"github.com/bump-gitops/bump/internal/imageref"
)

// treeSource reads the version to deploy from version.txt in the tree it
// is given, as promotion reads another environment, and records what it saw.
type treeSource struct {
	mu   sync.Mutex
	seen []string
}

func (s *treeSource) Images(_ context.Context, tree fs.FS) ([]imageref.Ref, error) {
	data, err := fs.ReadFile(tree, "version.txt")
	if err != nil {
		return nil, err
	}
	v := strings.TrimSpace(string(data))
	s.mu.Lock()
	s.seen = append(s.seen, v)
	s.mu.Unlock()
	ref, err := imageref.Parse("ghcr.io/acme/api:" + v)
	return []imageref.Ref{ref}, err
}

// The source is asked on every attempt, with that attempt's tree: when a
// lost race sends bump back to the latest base, what it bumps to is read
// again from there.
func TestSourceAskedOnEveryAttempt(t *testing.T) {
	ctx := context.Background()
	s := gittest.NewServer(t)
	url := s.CreateRepo(t, "m", map[string]string{"deploy.yaml": deployment, "version.txt": "v1.2.3\n"})
	var once sync.Once
	s.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if gittest.IsPush(r) {
			// Between bump's look and its push, the base moves on and
			// the head branch appears: the push loses the race.
			once.Do(func() {
				s.Commit(t, "m", "main", map[string]string{"version.txt": "v1.2.4\n"}, "next version")
				s.Branch(t, "m", "bump/api", "main")
			})
		}
		return false
	})
	src := &treeSource{}
	_, opts := raceSetup(t)
	opts.RepoURL, opts.Mode, opts.Source = url, Push, src
	out, err := Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(src.seen, " "); got != "v1.2.3 v1.2.4" {
		t.Errorf("source saw %q, want each attempt's tree (v1.2.3 v1.2.4)", got)
	}
	if got := s.File(t, "m", "bump/api", "deploy.yaml"); !out.Pushed || !strings.Contains(got, "api:v1.2.4 # keep") {
		t.Errorf("pushed %v, branch holds:\n%s", out.Pushed, got)
	}
}

// Settle is called once, after the clone, with the base filled in; the
// options it returns govern every attempt.
func TestSettleOnceAfterClone(t *testing.T) {
	ctx := context.Background()
	s, opts := raceSetup(t)
	opts.Mode, opts.Source = Push, Fixed(mustRefs(t, "ghcr.io/acme/api:v1.2.3"))
	var bases []string
	opts.Settle = func(tree fs.FS, o Options) (Options, error) {
		if _, err := fs.Stat(tree, "deploy.yaml"); err != nil {
			t.Errorf("settle got no tree of the base: %v", err)
		}
		bases = append(bases, o.Base)
		o.Templates.Branch = "deploy/{{.Name}}"
		return o, nil
	}
	out, err := Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(bases, " ") != "main" {
		t.Errorf("settle called with bases %q, want once with main", bases)
	}
	if out.Branch != "deploy/api" || s.Head("m", "deploy/api") == "" {
		t.Errorf("branch %q, want deploy/api from the settled template", out.Branch)
	}
}
