package bump

import (
	"testing"

	"github.com/bump-gitops/bump/internal/manifest"
)

// Every message bump writes is its own, with the default template or the
// user's; messages of earlier versions (no trailer) are recognised by
// their shape; anything else is not bump's.
func TestOwnCommit(t *testing.T) {
	d := newTemplateData(mustRefs(t, "ghcr.io/acme/api:v1.2.3"), CI{}, &manifest.Result{Changes: []manifest.Change{{File: "a b/x.yaml", Line: 3, Image: "ghcr.io/acme/api", From: "v1", To: "v1.2.3"}}}, "main")
	for _, tmpl := range []string{"", "deploy {{.Name}}"} {
		msg, err := commitMessage(tmpl, d)
		if err != nil {
			t.Fatal(err)
		}
		if !ownCommit(msg) {
			t.Errorf("template %q: bump's own message not recognised:\n%s", tmpl, msg)
		}
	}
	for msg, want := range map[string]bool{
		// What earlier versions wrote.
		"chore(deploy): bump ghcr.io/acme/api to v1.2.3\n\n- apps/api.yaml:11 ghcr.io/acme/api v1.2.2 -> v1.2.3\n":                                                 true,
		"deploy api\n\n- apps/api.yaml:11 ghcr.io/acme/api v1.2.2 -> v1.2.3\n- apps/w.yaml:2 nginx 1.27 -> 1.28\n\nSource: https://x/c/1\nPipeline: https://x/p/2": true,
		"chore(deploy): bump nginx to 1.28\n\n- apps/w.yaml:2 nginx  -> 1.28":                                                                                      true,
		"Bump api\n\nBumped-by: bump\n": true,
		// Not bump's.
		"review fix":                                  false,
		"review fix\n\nchanged the replicas":          false,
		"chore(deploy): bump api\n\n- did it by hand": false,
		"Merge branch 'main' into bump/api":           false,
		"chore(deploy): bump ghcr.io/acme/api to v1.2.3\n\n- apps/api.yaml:11 ghcr.io/acme/api v1.2.2 -> v1.2.3\n\nAlso bumped the replicas": false,
		"x\n\n- apps/api.yaml:11 api v1 -> v2\nand more": false,
		"Bumped-by: bumpy\n":                             false,
	} {
		if got := ownCommit(msg); got != want {
			t.Errorf("ownCommit(%q) = %v, want %v", msg, got, want)
		}
	}
}
