package manifest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bump-gitops/bump/internal/imageref"
	"github.com/bump-gitops/bump/internal/manifest/manifesttest"
)

// peakHeap samples the live heap while f runs and returns the peak in bytes.
func peakHeap(f func()) uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			s := []metrics.Sample{{Name: sample[0].Name}}
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	f()
	close(stop)
	wg.Wait()
	return peak.Load()
}

// BenchmarkRewriteTree scans generated trees where 1% of the files use the
// image, side by side with grep -rl over the same tree. Two sizes show
// whether memory grows with the tree.
//
//	go test ./internal/manifest -run '^$' -bench RewriteTree -benchmem -benchtime 10x
func BenchmarkRewriteTree(b *testing.B) {
	const image = "ghcr.io/acme/api"
	ref, err := imageref.Parse(image + ":v1.2.3")
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{2000, 20000} {
		dir := b.TempDir()
		tree, err := manifesttest.Generate(dir, n, 100, image)
		if err != nil {
			b.Fatal(err)
		}
		fsys := os.DirFS(dir)
		b.Run(fmt.Sprintf("files=%d/bump", n), func(b *testing.B) {
			var peak uint64
			for b.Loop() {
				p := peakHeap(func() {
					res, err := Rewrite(context.Background(), fsys, Options{Images: []imageref.Ref{ref}})
					if err != nil {
						b.Fatal(err)
					}
					if len(res.Files) != tree.Hits {
						b.Fatalf("%d files changed, want %d", len(res.Files), tree.Hits)
					}
				})
				peak = max(peak, p)
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
		b.Run(fmt.Sprintf("files=%d/grep", n), func(b *testing.B) {
			if _, err := exec.LookPath("grep"); err != nil {
				b.Skip("grep not installed")
			}
			for b.Loop() {
				out, err := exec.Command("grep", "-rl", image, dir).Output()
				if err != nil {
					b.Fatal(err)
				}
				_ = out
			}
		})
	}
}

// BenchmarkRewriteAllHit rewrites a tree where every file holds the image,
// reporting throughput in MB/s of manifest read, parsed and rewritten.
//
//	go test ./internal/manifest -run '^$' -bench RewriteAllHit -benchmem
func BenchmarkRewriteAllHit(b *testing.B) {
	const image = "ghcr.io/acme/api"
	ref, err := imageref.Parse(image + ":v1.2.3")
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	tree, err := manifesttest.Generate(dir, 2000, 1, image)
	if err != nil {
		b.Fatal(err)
	}
	fsys := os.DirFS(dir)
	b.SetBytes(tree.Bytes)
	for b.Loop() {
		res, err := Rewrite(context.Background(), fsys, Options{Images: []imageref.Ref{ref}})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Files) != tree.Files {
			b.Fatalf("%d files changed, want %d", len(res.Files), tree.Files)
		}
	}
}

// BenchmarkFind scans the trees of BenchmarkRewriteTree read-only: for
// the one image (the screen skips 99% of the files unparsed, as in a
// rewrite) and for every image (each file is parsed).
//
//	go test ./internal/manifest -run '^$' -bench 'Find|RewriteTree' -benchmem -benchtime 10x
func BenchmarkFind(b *testing.B) {
	const image = "ghcr.io/acme/api"
	ref, err := imageref.Parse(image + ":v1.2.3")
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{2000, 20000} {
		dir := b.TempDir()
		tree, err := manifesttest.Generate(dir, n, 100, image)
		if err != nil {
			b.Fatal(err)
		}
		fsys := os.DirFS(dir)
		for _, mode := range []struct {
			name   string
			images []imageref.Ref
		}{{"image", []imageref.Ref{ref}}, {"every", nil}} {
			b.Run(fmt.Sprintf("files=%d/%s", n, mode.name), func(b *testing.B) {
				var peak uint64
				for b.Loop() {
					p := peakHeap(func() {
						f, err := Find(context.Background(), fsys, FindOptions{Images: mode.images})
						if err != nil {
							b.Fatal(err)
						}
						if len(f.Versions(image)) == 0 || len(f.References) < tree.Hits {
							b.Fatalf("%d references, want at least %d", len(f.References), tree.Hits)
						}
					})
					peak = max(peak, p)
				}
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			})
		}
	}
}
