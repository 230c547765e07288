package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"wxoa/wechat"
)

// fileStore keeps the token in a JSON file that several processes on one
// host share. An advisory lock on PATH.lock serialises their refreshes; the
// fetch counter lives in a sibling file so that a failed fetch leaves the
// token file untouched.
type fileStore struct {
	path, countPath string
	log             *slog.Logger

	// lk serialises this process's refreshes: flock locks belong to an open
	// file, and gofrs/flock treats a second TryLock on a held Flock as
	// success, so it cannot tell goroutines apart.
	lk chanMutex
	fl *flock.Flock

	// mu serialises read-modify-write within the process and guards held.
	mu   sync.Mutex
	held bool

	hub *Hub // nil: Watch polls by itself
}

// fileRecord is the on-disk form. Token.Value is tagged json:"-" so that it
// never leaks through an accidental json.Marshal; this is the one place
// that writes it out.
type fileRecord struct {
	AccessToken string    `json:"access_token"`
	ExpiresAt   time.Time `json:"expires_at"`
	FetchedAt   time.Time `json:"fetched_at"`
	FetchedBy   string    `json:"fetched_by,omitempty"`
}

var (
	_ Store   = (*fileStore)(nil)
	_ Watcher = (*fileStore)(nil)
)

// DefaultFilePoll is how often a file store's watcher stats the token file
// for a token another process wrote: a stat is cheap, and it keeps working
// on filesystems where change notifications do not (network mounts).
const DefaultFilePoll = 250 * time.Millisecond

// NewFileStore returns a Store kept in the JSON file at path (mode 0600),
// creating its directory with mode 0700. Processes on one host that share
// the file share the token and refresh it once between them.
func NewFileStore(path string, logger *slog.Logger) (Store, error) {
	if path == "" {
		return nil, errors.New("token file store: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("token file store: %w", err)
	}
	if logger == nil {
		logger = discard()
	}
	return &fileStore{
		path:      path,
		countPath: strings.TrimSuffix(path, ".json") + ".fetches.json",
		log:       logger.With("store", "file", "path", path),
		lk:        newChanMutex(),
		fl:        flock.New(path + ".lock"),
	}, nil
}

func (s *fileStore) Load(context.Context) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.load()
}

// load reads the file; s.mu must be held. Anything unusable is logged and
// reported as ErrNoToken so that the next fetch replaces it.
func (s *fileStore) load() (Token, error) {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := s.dirPresent(); err != nil {
			return Token{}, &StoreError{Op: "load", Err: err}
		}
		return Token{}, ErrNoToken
	}
	if err != nil {
		s.log.Warn("token file unreadable; treating it as empty", "err", err)
		return Token{}, ErrNoToken
	}
	var r fileRecord
	if err := json.Unmarshal(b, &r); err != nil {
		// The decoder's message may quote a byte of the file: log only where.
		s.log.Warn("token file corrupt; treating it as empty", "bytes", len(b), "reason", jsonReason(err))
		return Token{}, ErrNoToken
	}
	if r.AccessToken == "" || r.ExpiresAt.IsZero() {
		s.log.Warn("token file holds no usable token; treating it as empty", "bytes", len(b))
		return Token{}, ErrNoToken
	}
	return Token{Value: wechat.Secret(r.AccessToken), ExpiresAt: r.ExpiresAt, FetchedAt: r.FetchedAt, By: r.FetchedBy}, nil
}

// dirPresent tells a store not yet written (fine) from one whose directory
// was removed under it (a fault to report; the operator restores it).
func (s *fileStore) dirPresent() error {
	fi, err := os.Stat(filepath.Dir(s.path))
	switch {
	case err != nil:
		return fmt.Errorf("token directory: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("token directory %s is not a directory", filepath.Dir(s.path))
	}
	return nil
}

func jsonReason(err error) string {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at offset %d", syn.Offset)
	case strings.Contains(err.Error(), "unexpected end of JSON input"):
		return "truncated"
	default:
		return "wrong shape"
	}
}

func (s *fileStore) Save(ctx context.Context, t Token) (Token, error) {
	if err := checkSavable(t); err != nil {
		return Token{}, err
	}
	var saved Token
	err := s.withLock(ctx, func() error {
		if cur, err := s.load(); err == nil && cur.FetchedAt.After(t.FetchedAt) {
			saved = cur
			return nil
		}
		b, err := json.Marshal(fileRecord{AccessToken: t.Value.Reveal(), ExpiresAt: t.ExpiresAt, FetchedAt: t.FetchedAt, FetchedBy: t.By})
		if err != nil {
			return err
		}
		if err := writeFileAtomic(s.path, b); err != nil {
			return err
		}
		saved = t
		return nil
	})
	if err != nil {
		return Token{}, s.storeErr(ctx, "save", err)
	}
	return saved, nil
}

func (s *fileStore) Lock(ctx context.Context) (func(), error) {
	if err := s.lk.lock(ctx); err != nil {
		return nil, err
	}
	ok, err := s.fl.TryLockContext(ctx, 10*time.Millisecond)
	if !ok || err != nil {
		s.lk.unlock()
		if err == nil {
			err = ctx.Err()
		}
		return nil, s.storeErr(ctx, "lock", err)
	}
	s.mu.Lock()
	s.held = true
	s.mu.Unlock()
	return once(func() {
		s.mu.Lock()
		s.held = false
		s.mu.Unlock()
		if err := s.fl.Unlock(); err != nil {
			s.log.Error("token file store: unlock", "err", err)
		}
		s.lk.unlock()
	}), nil
}

// withLock runs fn under s.mu with the file lock held: borrowed when this
// process already holds it (a refresh calling Save), else taken for fn.
func (s *fileStore) withLock(ctx context.Context, fn func() error) error {
	s.mu.Lock()
	if s.held {
		defer s.mu.Unlock()
		return fn()
	}
	s.mu.Unlock()
	unlock, err := s.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	return fn()
}

func (s *fileStore) CountFetch(ctx context.Context, day string) (int64, error) {
	var n int64
	err := s.withLock(ctx, func() error {
		counts := map[string]int64{}
		if b, err := os.ReadFile(s.countPath); err == nil {
			if json.Unmarshal(b, &counts) != nil {
				s.log.Warn("fetch counter file corrupt; restarting the count", "count_path", s.countPath)
				counts = map[string]int64{}
			}
		}
		counts[day]++
		n = counts[day]
		pruneDays(counts, day)
		b, err := json.Marshal(counts)
		if err != nil {
			return err
		}
		return writeFileAtomic(s.countPath, b)
	})
	if err != nil {
		return 0, s.storeErr(ctx, "count", err)
	}
	return n, nil
}

// writeFileAtomic replaces path with data so that a crash leaves either the
// old file or the new one, never a torn one: temp file in the same
// directory, fsync, chmod 0600, rename, fsync the directory.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// storeErr tells a caller that gave up (ctx) from a file system that failed.
func (s *fileStore) storeErr(ctx context.Context, op string, err error) error {
	var se *StoreError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("token file store: %s: %w", op, ctx.Err())
	case errors.As(err, &se):
		return err
	}
	return &StoreError{Op: op, Err: fmt.Errorf("file: %w", err)}
}

// Watch stats the token file every DefaultFilePoll (through the Hub, if
// the store has one) and reports a change of its identity (the atomic
// rename makes a new inode), size or modification time. A missing
// directory is reported to probe; a missing file is not (no token yet).
func (s *fileStore) Watch(ctx context.Context, changed func(), probe func(error)) {
	if s.hub != nil {
		s.hub.watchFile(ctx, s, changed, probe)
		return
	}
	tick := time.NewTicker(DefaultFilePoll)
	defer tick.Stop()
	var st fileState
	for {
		c, err := s.stat(&st)
		probe(err)
		if c {
			changed()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// fileState is what the last stat of a token file saw.
type fileState struct {
	last  fs.FileInfo // nil: no file
	known bool        // a stat has completed
}

// stat checks the token file once: changed reports a new identity, size or
// modification time since the last call; err is what probe gets (a missing
// directory, a failing stat; a missing file is no error).
func (s *fileStore) stat(st *fileState) (changed bool, err error) {
	fi, err := os.Stat(s.path)
	switch {
	case err == nil:
		changed = st.known && (st.last == nil || !os.SameFile(st.last, fi) || !st.last.ModTime().Equal(fi.ModTime()) || st.last.Size() != fi.Size())
		st.last, st.known = fi, true
		return changed, nil
	case errors.Is(err, fs.ErrNotExist):
		if derr := s.dirPresent(); derr != nil {
			return false, derr
		}
		changed = st.known && st.last != nil
		st.last, st.known = nil, true
		return changed, nil
	}
	return false, err
}
