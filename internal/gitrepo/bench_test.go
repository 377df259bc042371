package gitrepo_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/bump-gitops/bump/internal/gitrepo"
	"github.com/bump-gitops/bump/internal/gitrepo/gittest"
)

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-%[1]d
  labels:
    app.kubernetes.io/name: svc-%[1]d
    app.kubernetes.io/part-of: shop
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: svc-%[1]d
  template:
    metadata:
      labels:
        app.kubernetes.io/name: svc-%[1]d
    spec:
      containers:
        - name: app
          image: %[2]s
          ports:
            - containerPort: 8080
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {memory: 256Mi}
          readinessProbe:
            httpGet: {path: /healthz, port: 8080}
`

// benchFile is the i-th file of the generated repository: 100 per
// directory, and every hundredth one uses the image the bump rewrites.
func benchFile(i int) (string, []byte) {
	image := fmt.Sprintf("ghcr.io/acme/svc-%d:v1.0.0", i)
	if i%100 == 0 {
		image = "ghcr.io/acme/api:v1.0.0"
	}
	return fmt.Sprintf("apps/team-%03d/svc-%05d/deploy.yaml", i/100, i), fmt.Appendf(nil, deployment, i, image)
}

// BenchmarkCloneCommitPush measures what bump does to a repository (a
// depth-1 clone into memory, reading the files it rewrites through TreeFS,
// a commit, a push of a new branch) next to `git clone --depth 1` alone,
// over loopback against the same `git http-backend`.
func BenchmarkCloneCommitPush(b *testing.B) {
	for _, n := range []int{2000, 20000} {
		b.Run("files="+strconv.Itoa(n), func(b *testing.B) {
			s := gittest.NewServer(b)
			url := s.CreateGeneratedRepo(b, "big", n, benchFile)
			pushes := 0
			b.Run("bump", func(b *testing.B) {
				var sent atomic.Int64
				s.SetFault(gittest.When(gittest.IsPush, func(w http.ResponseWriter, r *http.Request) bool {
					sent.Add(r.ContentLength)
					return false
				}))
				defer s.SetFault(nil)
				var peak peakRSS
				var phases [3]time.Duration
				for range b.N {
					pushes++ // b.N grows over reruns: every push needs a new branch
					b.StopTimer()
					peak.reset()
					b.StartTimer()
					p := bumpOnce(b, s, url, fmt.Sprintf("bench/%d", pushes), n/100)
					peak.read()
					for i := range phases {
						phases[i] += p[i]
					}
				}
				peak.report(b)
				b.ReportMetric(float64(sent.Load())/1024/float64(b.N), "push-kB")
				for i, name := range []string{"clone-ms", "read+commit-ms", "push-ms"} {
					b.ReportMetric(float64(phases[i].Milliseconds())/float64(b.N), name)
				}
			})
			for _, checkout := range []bool{true, false} {
				name := "git-clone-depth1"
				args := []string{"clone", "-q", "--depth", "1"}
				if !checkout {
					name += "-no-checkout"
					args = append(args, "--no-checkout")
				}
				b.Run(name, func(b *testing.B) { gitClone(b, s, url, args) })
			}
		})
	}
}

// gitClone runs the system git's clone; its rusage covers the children it
// waited for too (git-remote-http, index-pack), so peak RSS is the
// largest of them.
func gitClone(b *testing.B, s *gittest.Server, url string, args []string) {
	authURL := strings.Replace(url, "://", "://"+s.User+":"+s.Password+"@", 1)
	var maxRSS int64
	for range b.N {
		dir := filepath.Join(b.TempDir(), "clone")
		cmd := exec.Command("git", append(args, authURL, dir)...)
		cmd.Env = gittest.Env(b.TempDir())
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("git clone: %v %s", err, out)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			maxRSS = max(maxRSS, ru.Maxrss*1024)
		}
		b.StopTimer()
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(maxRSS)/(1<<20), "peak-RSS-MiB")
}

// bumpOnce clones, rewrites 1% of the files, commits and pushes, and
// checks it rewrote want files, and returns how long the clone, the read and commit, and the push took.
func bumpOnce(b *testing.B, s *gittest.Server, url, branch string, want int) (phases [3]time.Duration) {
	ctx := context.Background()
	start := time.Now()
	r, err := gitrepo.Clone(ctx, gitrepo.CloneOptions{URL: url, Auth: gitrepo.Auth{Username: s.User, Password: s.Password}})
	if err != nil {
		b.Fatal(err)
	}
	phases[0] = time.Since(start)
	start = time.Now()
	tree, err := r.TreeFS(r.BaseCommit())
	if err != nil {
		b.Fatal(err)
	}
	changed := map[string][]byte{}
	err = fs.WalkDir(tree, "apps", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, "0/deploy.yaml") {
			return err
		}
		data, err := fs.ReadFile(tree, p)
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte("acme/api:v1.0.0")) {
			changed[p] = bytes.Replace(data, []byte("api:v1.0.0"), []byte("api:v1.0.1"), 1)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if len(changed) != want {
		b.Fatalf("rewrote %d files, want %d", len(changed), want)
	}
	commit, err := r.Commit(ctx, gitrepo.CommitRequest{Parent: r.BaseCommit(), Files: changed, Message: "bump api", Author: me})
	if err != nil {
		b.Fatal(err)
	}
	phases[1] = time.Since(start)
	start = time.Now()
	if err := r.Push(ctx, commit, branch, ""); err != nil {
		b.Fatal(err)
	}
	phases[2] = time.Since(start)
	return phases
}

// peakRSS reads the process's resident high-water mark, reset before each
// run (Linux: writing 5 to clear_refs), so the figure is bump's own and
// not the benchmark setup's. Where that is not possible it samples the Go
// heap instead.
type peakRSS struct {
	max    int64
	heap   bool
	stop   chan struct{}
	wg     sync.WaitGroup
	sample int64
}

func (p *peakRSS) reset() {
	runtime.GC()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err == nil {
		return
	}
	p.heap = true
	p.stop = make(chan struct{})
	p.wg.Go(func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			p.sample = max(p.sample, int64(ms.HeapInuse))
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	})
}

func (p *peakRSS) read() {
	if p.heap {
		close(p.stop)
		p.wg.Wait()
		p.max = max(p.max, p.sample)
		return
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			p.max = max(p.max, kb*1024)
		}
	}
}

func (p *peakRSS) report(b *testing.B) {
	unit := "peak-RSS-MiB"
	if p.heap {
		unit = "peak-heap-MiB"
	}
	b.ReportMetric(float64(p.max)/(1<<20), unit)
}

// BenchmarkCloneStore keeps the stop-9 experiment docs/BENCHMARKS.md
// records: a depth-1 clone of the 20,000-file repository into go-git's
// filesystem storage on disk, next to go-git's memory storage (what bump
// used until its own pack indexer, store.go, replaced both), each followed
// by what a bump reads: every tree, and the 1% of blobs it rewrites.
// live-MiB is the heap still in use once the clone is done.
func BenchmarkCloneStore(b *testing.B) {
	s := gittest.NewServer(b)
	url := s.CreateGeneratedRepo(b, "big", 20000, benchFile)
	auth := &githttp.BasicAuth{Username: s.User, Password: s.Password}
	for _, store := range []string{"memory", "disk"} {
		b.Run(store, func(b *testing.B) {
			var (
				peak        peakRSS
				clone, read time.Duration
				live        uint64
			)
			for range b.N {
				b.StopTimer()
				dir := b.TempDir()
				peak.reset()
				b.StartTimer()
				var st storage.Storer = memory.NewStorage()
				var disk *filesystem.Storage
				if store == "disk" {
					disk = filesystem.NewStorageWithOptions(osfs.New(dir), cache.NewObjectLRU(32*cache.MiByte),
						filesystem.Options{ExclusiveAccess: true, KeepDescriptors: true})
					st = disk
				}
				start := time.Now()
				repo, err := git.CloneContext(context.Background(), st, nil, &git.CloneOptions{
					URL: url, Auth: auth, Depth: 1, SingleBranch: true, NoCheckout: true, Tags: git.NoTags,
				})
				if err != nil {
					b.Fatal(err)
				}
				clone += time.Since(start)
				b.StopTimer()
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				live = max(live, ms.HeapInuse)
				b.StartTimer()

				start = time.Now()
				if n := readLikeBump(b, repo); n != 200 {
					b.Fatalf("read %d files to rewrite, want 200", n)
				}
				read += time.Since(start)
				peak.read()
				if disk != nil {
					if err := disk.Close(); err != nil {
						b.Fatal(err)
					}
				}
			}
			peak.report(b)
			b.ReportMetric(float64(live)/(1<<20), "live-MiB")
			b.ReportMetric(float64(clone.Milliseconds())/float64(b.N), "clone-ms")
			b.ReportMetric(float64(read.Milliseconds())/float64(b.N), "read-ms")
		})
	}
}

// readLikeBump walks every tree of HEAD and reads the blobs of the files
// that hold the bumped image (every hundredth), returning how many.
func readLikeBump(b *testing.B, repo *git.Repository) int {
	head, err := repo.Head()
	if err != nil {
		b.Fatal(err)
	}
	commit, err := repo.CommitObject(head.Hash())
	if err != nil {
		b.Fatal(err)
	}
	tree, err := commit.Tree()
	if err != nil {
		b.Fatal(err)
	}
	w := object.NewTreeWalker(tree, true, nil)
	defer w.Close()
	n := 0
	for {
		name, entry, err := w.Next()
		if err == io.EOF {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
		if !entry.Mode.IsFile() || !strings.HasSuffix(name, "00/deploy.yaml") {
			continue
		}
		blob, err := repo.BlobObject(entry.Hash)
		if err != nil {
			b.Fatal(err)
		}
		r, err := blob.Reader()
		if err != nil {
			b.Fatal(err)
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			b.Fatal(err)
		}
		if bytes.Contains(data, []byte("acme/api:v1.0.0")) {
			n++
		}
	}
}
