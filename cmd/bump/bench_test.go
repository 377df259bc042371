package main

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/bump-gitops/bump/internal/gitrepo/gittest"
	"github.com/bump-gitops/bump/internal/manifest/manifesttest"
)

// BenchmarkCloneBump measures bump's whole clone → rewrite → commit → push
// of a generated manifests repo over loopback, next to `git clone --depth 1`
// of the same repo, both as separate processes so that wall time and peak
// RSS compare like for like. 1% of the files hold the bumped image.
//
//	go test ./cmd/bump -run '^$' -bench CloneBump -benchtime 5x
func BenchmarkCloneBump(b *testing.B) {
	for _, files := range []int{5000, 20000} {
		b.Run(fmt.Sprintf("files=%d", files), func(b *testing.B) {
			s := gittest.NewServer(b)
			src := b.TempDir()
			tree, err := manifesttest.Generate(src, files, 100, "ghcr.io/acme/api")
			if err != nil {
				b.Fatal(err)
			}
			repo := s.CreateRepoFromDir(b, "acme/manifests", src)
			exe, err := os.Executable()
			if err != nil {
				b.Fatal(err)
			}
			bin := filepath.Join(b.TempDir(), "bump")
			if err := os.Symlink(exe, bin); err != nil {
				b.Fatal(err)
			}
			env := append(gittest.Env(b.TempDir()), "BUMP_TOKEN="+s.Password, "BUMP_AUTHOR=Bench <bench@example.com>")

			b.Run("bump", func(b *testing.B) {
				var rss int64
				for i := range b.N {
					// A new version each time, so every iteration commits and pushes.
					cmd := exec.Command(bin, "--repo", repo, "--no-pr", "--image", fmt.Sprintf("ghcr.io/acme/api:v9.%d.0", i),
						"--branch", "bench/{{.Version}}")
					cmd.Env = env
					if out, err := cmd.CombinedOutput(); err != nil {
						b.Fatalf("bump: %v\n%s", err, out)
					}
					rss = max(rss, maxRSS(cmd))
				}
				b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
				b.ReportMetric(float64(tree.Hits), "files-changed")
			})
			gitClone := func(b *testing.B, extra ...string) {
				u, _ := url.Parse(repo)
				u.User = url.UserPassword(s.User, s.Password)
				var rss int64
				for range b.N {
					dst := filepath.Join(b.TempDir(), "clone")
					args := append([]string{"clone", "-q", "--depth", "1"}, extra...)
					cmd := exec.Command("git", append(args, u.String(), dst)...)
					cmd.Env = env
					if out, err := cmd.CombinedOutput(); err != nil {
						b.Fatalf("git clone: %v\n%s", err, out)
					}
					rss = max(rss, maxRSS(cmd))
					b.StopTimer()
					os.RemoveAll(dst)
					b.StartTimer()
				}
				b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
			}
			b.Run("git-clone-depth1", func(b *testing.B) { gitClone(b) })
			// Without the work tree: the network and pack part of a clone alone.
			b.Run("git-clone-depth1-no-checkout", func(b *testing.B) { gitClone(b, "--no-checkout") })
		})
	}
}

// maxRSS is the peak resident set of a finished process (Linux reports KiB).
func maxRSS(cmd *exec.Cmd) int64 {
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10
	}
	return 0
}
