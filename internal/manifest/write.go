package manifest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
)

// WriteFiles writes files under dir. Each file is written to a temporary file
// in its own directory and renamed over the original, so a reader never sees
// half a file; all temporary files are written before the first rename, so a
// failure while writing leaves every file untouched. Paths must be slash
// paths inside dir; dir is opened as an os.Root, so neither ".." nor a
// symlink can lead a write outside it, and symlinked targets are refused.
func WriteFiles(dir string, files []File) (err error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer root.Close()

	type pending struct{ tmp, dst string }
	var done []pending
	defer func() {
		if err != nil {
			for _, p := range done {
				_ = root.Remove(p.tmp)
			}
		}
	}()
	for _, f := range files {
		if !fs.ValidPath(f.Path) || f.Path == "." {
			return fmt.Errorf("write %q: not a path inside the repository", f.Path)
		}
		if info, err := root.Lstat(f.Path); err == nil && !info.Mode().IsRegular() {
			return fmt.Errorf("write %s: not a regular file", f.Path)
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("write %s: %w", f.Path, err)
		}
		mode := f.Mode.Perm()
		if mode == 0 {
			mode = 0o644
		}
		tmp, err := writeTemp(root, f.Path, f.Data, mode)
		if err != nil {
			return fmt.Errorf("write %s: %w", f.Path, err)
		}
		done = append(done, pending{tmp: tmp, dst: f.Path})
	}
	for i, p := range done {
		if err := root.Rename(p.tmp, p.dst); err != nil {
			// Renamed files are final; only the rest are cleaned up.
			done = done[i:]
			return fmt.Errorf("write %s: %w", p.dst, err)
		}
	}
	return nil
}

func writeTemp(root *os.Root, name string, data []byte, mode fs.FileMode) (string, error) {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(path.Dir(name), ".bump-"+hex.EncodeToString(rnd[:])+".tmp")
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// The umask may have narrowed the mode given to OpenFile.
		err = root.Chmod(tmp, mode)
	}
	if err != nil {
		_ = root.Remove(tmp)
		return "", err
	}
	return tmp, nil
}
