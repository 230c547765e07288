package revoke

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gofrs/flock"
)

// maxFile bounds what File reads: MaxEntries entries of ~70 bytes.
const maxFile = 1 << 20

// File keeps sign-outs in a JSON file that the processes of one host share
// (beside TOKEN_STORE's token file), read on each check and rewritten
// atomically (temporary file, fsync, rename, mode 0600) under an advisory
// lock for each change.
type File struct {
	path string
	lk   *flock.Flock
	now  func() time.Time
	max  int // MaxEntries; smaller in tests
}

// record is the file's content.
type record struct {
	Generation uint64               `json:"generation"`
	Revoked    map[string]time.Time `json:"revoked,omitempty"` // session id → its expiry
}

// NewFile returns a File at path, whose directory it creates (0700); now
// is its clock (nil: time.Now).
func NewFile(path string, now func() time.Time) (*File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("session revocations: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	return &File{path: path, lk: flock.New(path + ".lock"), now: now, max: MaxEntries}, nil
}

func (f *File) Generation(ctx context.Context) (uint64, error) {
	g, _, err := f.Check(ctx, "")
	return g, err
}

func (f *File) Check(ctx context.Context, id string) (uint64, bool, error) {
	r, ok, err := f.read()
	if err != nil {
		return 0, false, err
	}
	if !ok { // no file yet, or one we cannot trust: start a generation
		var gen uint64
		err := f.update(ctx, func(r *record) { gen = r.Generation })
		return gen, false, err
	}
	until, revoked := r.Revoked[id]
	return r.Generation, revoked && f.now().Before(until), nil
}

func (f *File) Revoke(ctx context.Context, id string, until time.Time) error {
	return f.update(ctx, func(r *record) {
		prune(r.Revoked, f.now())
		if len(r.Revoked) >= f.max {
			r.Generation, r.Revoked = newGeneration(r.Generation), map[string]time.Time{}
			return
		}
		r.Revoked[id] = until
	})
}

func (f *File) NewGeneration(ctx context.Context) (uint64, error) {
	var gen uint64
	err := f.update(ctx, func(r *record) {
		r.Generation, r.Revoked = newGeneration(r.Generation), map[string]time.Time{}
		gen = r.Generation
	})
	return gen, err
}

// update changes the record under the lock: a file that is missing or
// cannot be trusted starts over with a new generation, which ends every
// earlier session rather than forget a sign-out.
func (f *File) update(ctx context.Context, change func(*record)) error {
	ok, err := f.lk.TryLockContext(ctx, 10*time.Millisecond)
	if !ok || err != nil {
		return fmt.Errorf("session revocations: lock: %w", errors.Join(err, ctx.Err()))
	}
	defer f.lk.Unlock()
	r, found, err := f.read()
	if err != nil {
		return err
	}
	if !found {
		r = record{Generation: randomGeneration()}
	}
	if r.Revoked == nil {
		r.Revoked = map[string]time.Time{}
	}
	change(&r)
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return writeAtomic(f.path, b)
}

// read returns the record; found is false for a missing file and for one
// that is not a small regular file of the right shape (a FIFO, a device, a
// symlink to either, garbage), which is never read past maxFile nor waited
// on.
func (f *File) read() (r record, found bool, err error) {
	fd, err := os.OpenFile(f.path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return record{}, false, nil
	}
	if err != nil {
		return record{}, false, fmt.Errorf("session revocations: %w", err)
	}
	defer fd.Close()
	if fi, err := fd.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() > maxFile {
		return record{}, false, nil
	}
	b, err := io.ReadAll(io.LimitReader(fd, maxFile+1))
	if err != nil {
		return record{}, false, fmt.Errorf("session revocations: %w", err)
	}
	if len(b) > maxFile || json.Unmarshal(b, &r) != nil || r.Generation == 0 {
		return record{}, false, nil
	}
	return r, true, nil
}

// writeAtomic replaces path with data: a crash leaves the old file or the
// new one, and once it returns the rename itself is on disk (the directory
// synced), so a sign-out survives a crash. The rename replaces a symlink
// or FIFO at path rather than write through it. (The token store's
// writeFileAtomic does the same; wechat/ is a library that imports nothing
// of this program's, so the two cannot share one.)
func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("session revocations: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(0o600); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
