package gitrepo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// largeObject is the blob size above which reading a blob streams it from
// the pack instead of inflating it whole first.
const largeObject = 1 << 20

// maxDeltaObject bounds the objects a pack may build as deltas: resolving
// one holds its base and itself in memory. Git itself never deltifies
// blobs this large (core.bigFileThreshold is 512 MiB), so only a hostile
// server sends one.
const maxDeltaObject = 128 << 20

// store is the object store a clone is fetched into: a bare repository on
// an in-memory file system, so nothing touches the disk.
//
// Not go-git's memory storage: fetching into that decodes the pack into
// one inflated object each, so a small pack of a huge blob of zeros (a zip
// bomb, 1 MB on the wire for 1 GiB) cost gigabytes before bump had looked
// at a file. Nor go-git's own pack writer for this storage: its parser
// inflates every object once more, whole, after indexing. store keeps the
// pack as it came (compressed) and indexes it by streaming each object
// through a hash; a blob is inflated when it is read, and a large one
// streams. Sizes come from object headers.
//
// Objects bump writes (a commit's blobs and trees) stay in a map, as they
// would in the memory storage, rather than being deflated into loose
// files only to be inflated again for the push.
type store struct {
	*filesystem.Storage
	fs billy.Filesystem

	// mu serialises reads from the packs: go-git's Packfile, kept open
	// between reads, is not safe for concurrent use. A large blob's
	// reader opens the pack on its own and streams outside the lock.
	mu    sync.Mutex
	added map[plumbing.Hash]plumbing.EncodedObject
}

func newStore() storage.Storer {
	fs := memfs.New()
	st := filesystem.NewStorageWithOptions(fs, cache.NewObjectLRUDefault(), filesystem.Options{
		LargeObjectThreshold: largeObject,
		// Reopening the pack and its scanner for every object made a
		// walk of 20,000 files many times slower.
		KeepDescriptors: true,
	})
	return &store{Storage: st, fs: fs, added: map[plumbing.Hash]plumbing.EncodedObject{}}
}

// SetEncodedObject keeps an object bump made in memory.
func (s *store) SetEncodedObject(o plumbing.EncodedObject) (plumbing.Hash, error) {
	if o.Type() == plumbing.OFSDeltaObject || o.Type() == plumbing.REFDeltaObject {
		return plumbing.ZeroHash, plumbing.ErrInvalidType
	}
	h := o.Hash()
	s.mu.Lock()
	s.added[h] = o
	s.mu.Unlock()
	return h, nil
}

// EncodedObject looks in what bump made, then in the fetched packs.
func (s *store) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.added[h]; ok {
		if t != plumbing.AnyObject && o.Type() != t {
			return nil, plumbing.ErrObjectNotFound
		}
		return o, nil
	}
	return s.Storage.EncodedObject(t, h)
}

// HasEncodedObject reports whether the object is stored.
func (s *store) HasEncodedObject(h plumbing.Hash) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.added[h]; ok {
		return nil
	}
	return s.Storage.HasEncodedObject(h)
}

// EncodedObjectSize returns an object's size from its header.
func (s *store) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.added[h]; ok {
		return o.Size(), nil
	}
	return s.Storage.EncodedObjectSize(h)
}

// DeltaObject is EncodedObject: bump asks for no deltas.
func (s *store) DeltaObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	return s.EncodedObject(t, h)
}

const packDir = "objects/pack"

// PackfileWriter receives a fetched pack; Close indexes it.
func (s *store) PackfileWriter() (io.WriteCloser, error) {
	if err := s.fs.MkdirAll(packDir, 0o755); err != nil {
		return nil, err
	}
	f, err := s.fs.TempFile(packDir, "incoming-")
	if err != nil {
		return nil, err
	}
	return &packWriter{s: s, f: f}, nil
}

type packWriter struct {
	s *store
	f billy.File
	n int64
}

func (w *packWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *packWriter) Close() error {
	tmp := w.f.Name()
	defer w.s.fs.Remove(tmp)
	if w.n == 0 { // nothing was fetched
		return w.f.Close()
	}
	if _, err := w.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	idx, sum, err := indexPack(w.f)
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("index fetched pack: %w", err)
	}
	base := fmt.Sprintf("%s/pack-%s", packDir, sum)
	if err := w.s.fs.Rename(tmp, base+".pack"); err != nil {
		return err
	}
	f, err := w.s.fs.Create(base + ".idx")
	if err != nil {
		return err
	}
	if _, err := idxfile.NewEncoder(f).Encode(idx); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	w.s.mu.Lock()
	w.s.Reindex()
	w.s.mu.Unlock()
	return nil
}

// packObject is what indexing learnt of one object of the pack.
type packObject struct {
	header *packfile.ObjectHeader
	crc    uint32
	typ    plumbing.ObjectType // resolved type (a delta's is its base's)
	hash   plumbing.Hash
}

// indexPack builds the index of the pack in r. A whole object is hashed as
// it streams out of zlib, so its size costs time but no memory; a delta
// is resolved in memory against its base, both bounded by maxDeltaObject.
func indexPack(r io.ReadSeeker) (*idxfile.MemoryIndex, plumbing.Hash, error) {
	sc := packfile.NewScanner(r)
	_, count, err := sc.Header()
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	objects := make([]*packObject, 0, min(count, 1<<20))
	byOffset := make(map[int64]*packObject)
	var deltas []*packObject
	for range count {
		h, err := sc.NextObjectHeader()
		if err != nil {
			return nil, plumbing.ZeroHash, err
		}
		o := &packObject{header: h, typ: h.Type}
		if h.Type.IsDelta() {
			if h.Length > maxDeltaObject {
				return nil, plumbing.ZeroHash, fmt.Errorf("delta of %d bytes at offset %d: larger than %d", h.Length, h.Offset, maxDeltaObject)
			}
			_, o.crc, err = sc.NextObject(io.Discard)
			deltas = append(deltas, o)
		} else {
			hasher := plumbing.NewHasher(h.Type, h.Length)
			_, o.crc, err = sc.NextObject(hasher)
			o.hash = hasher.Sum()
		}
		if err != nil {
			return nil, plumbing.ZeroHash, err
		}
		objects = append(objects, o)
		byOffset[h.Offset] = o
	}
	sum, err := sc.Checksum()
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	res := &resolver{sc: sc, byOffset: byOffset, byHash: map[plumbing.Hash]*packObject{}}
	for _, o := range objects {
		if !o.hash.IsZero() {
			res.byHash[o.hash] = o
		}
	}
	// A REF delta's base may itself be a delta later in the pack: resolve
	// in rounds until a round makes no progress.
	for len(deltas) > 0 {
		var left []*packObject
		for _, o := range deltas {
			ok, err := res.resolve(o)
			if err != nil {
				return nil, plumbing.ZeroHash, err
			}
			if !ok {
				left = append(left, o)
			}
		}
		if len(left) == len(deltas) {
			return nil, plumbing.ZeroHash, fmt.Errorf("delta at offset %d: base %s not in the pack", left[0].header.Offset, left[0].header.Reference)
		}
		deltas = left
	}
	w := new(idxfile.Writer)
	if err := w.OnHeader(count); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	for _, o := range objects {
		w.Add(o.hash, uint64(o.header.Offset), o.crc)
	}
	if err := w.OnFooter(sum); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	idx, err := w.Index()
	return idx, sum, err
}

type resolver struct {
	sc       *packfile.Scanner
	byOffset map[int64]*packObject
	byHash   map[plumbing.Hash]*packObject
	// last holds the most recently built content, as deltas in a pack
	// usually follow their base.
	lastOffset int64
	last       []byte
}

// resolve hashes a delta object; false means its REF base is not known yet.
func (r *resolver) resolve(o *packObject) (bool, error) {
	if !o.hash.IsZero() {
		return true, nil
	}
	data, err := r.content(o, 0)
	if errors.Is(err, errBaseNotYet) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	o.hash = plumbing.ComputeHash(o.typ, data)
	r.byHash[o.hash] = o
	return true, nil
}

var errBaseNotYet = errors.New("base not resolved yet")

// content inflates an object, applying deltas down its chain.
func (r *resolver) content(o *packObject, depth int) ([]byte, error) {
	if depth > 64 {
		return nil, fmt.Errorf("delta chain deeper than 64 at offset %d", o.header.Offset)
	}
	if r.last != nil && r.lastOffset == o.header.Offset {
		return r.last, nil
	}
	h := o.header
	var base *packObject
	switch h.Type {
	case plumbing.OFSDeltaObject:
		base = r.byOffset[h.OffsetReference]
		if base == nil {
			return nil, fmt.Errorf("delta at offset %d: no object at base offset %d", h.Offset, h.OffsetReference)
		}
	case plumbing.REFDeltaObject:
		base = r.byHash[h.Reference]
		if base == nil {
			return nil, errBaseNotYet
		}
	}
	if base != nil && base.header.Length > maxDeltaObject && !base.header.Type.IsDelta() {
		return nil, fmt.Errorf("delta at offset %d: base of %d bytes, larger than %d", h.Offset, base.header.Length, maxDeltaObject)
	}
	var src []byte
	if base != nil {
		b, err := r.content(base, depth+1)
		if err != nil {
			return nil, err
		}
		src = b
		o.typ = base.typ
	}
	if _, err := r.sc.SeekObjectHeader(h.Offset); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, _, err := r.sc.NextObject(&buf); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	if base != nil {
		if size := deltaTargetSize(data); size > maxDeltaObject {
			return nil, fmt.Errorf("delta at offset %d: builds %d bytes, more than %d", h.Offset, size, maxDeltaObject)
		}
		var err error
		if data, err = packfile.PatchDelta(src, data); err != nil {
			return nil, fmt.Errorf("delta at offset %d: %w", h.Offset, err)
		}
	}
	r.lastOffset, r.last = h.Offset, data
	return data, nil
}

// deltaTargetSize reads the size of what a delta builds from its header
// (two little-endian base-128 numbers: the base's size, then the target's).
func deltaTargetSize(delta []byte) int64 {
	skip := func(b []byte) (int64, []byte) {
		var n int64
		for i, c := range b {
			if i >= 9 {
				break
			}
			n |= int64(c&0x7f) << (7 * i)
			if c&0x80 == 0 {
				return n, b[i+1:]
			}
		}
		return -1, nil
	}
	_, rest := skip(delta)
	size, _ := skip(rest)
	return size
}
