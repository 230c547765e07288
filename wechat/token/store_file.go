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
	"time"

	"github.com/gofrs/flock"

	"wxoa/wechat"
)

// fileStore keeps the token in a JSON file that several processes on one
// host share. An advisory lock on PATH.lock serialises their refreshes; the
// fetch counter lives in a sibling file so that a failed fetch leaves the
// token file untouched.
//
// The file is read only if it is a small regular file (a symlink to one is
// followed), without blocking: anything else — a FIFO, a device, a
// directory, a file over maxRecord — reads as no token, logged once, and
// the next save replaces it. Saves rename a new file over PATH, which
// replaces a symlink rather than following it, so no link can steer a
// write to another file. Every operation has a deadline (opTimeout).
type fileStore struct {
	path, countPath string
	log             *slog.Logger
	opTimeout       time.Duration

	// lk serialises this process's refreshes: flock locks belong to an open
	// file, and gofrs/flock treats a second TryLock on a held Flock as
	// success, so it cannot tell goroutines apart.
	lk chanMutex
	fl *flock.Flock

	// io serialises this process's file I/O and guards the fields below. It
	// is a chanMutex so that a caller queued behind I/O that hangs (a dead
	// network mount) gives up at its deadline.
	io     chanMutex
	held   bool              // this process holds the file lock (Lock)
	warned map[string]string // file → the version of it last logged as unusable

	hub *Hub // nil: Watch looks by itself
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

// storeOpTimeout bounds one store operation's I/O (a Redis command, a file
// read or write); waiting for another holder of the refresh lock is bounded
// by the caller's context instead (the Manager's FetchTimeout).
const storeOpTimeout = 5 * time.Second

// NewFileStore returns a Store kept in the JSON file at path (mode 0600),
// creating its directory with mode 0700. Processes on one host that share
// the file share the token and refresh it once between them.
func NewFileStore(path string, logger *slog.Logger) (Store, error) {
	if path == "" {
		return nil, errors.New("token file store: empty path")
	}
	// Clean, as the names inotify reports are: the Hub matches them.
	path = filepath.Clean(path)
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
		opTimeout: storeOpTimeout,
		lk:        newChanMutex(),
		fl:        flock.New(path + ".lock"),
		io:        newChanMutex(),
		warned:    map[string]string{},
	}, nil
}

func (s *fileStore) Load(ctx context.Context) (Token, error) {
	var t Token
	err := s.run(ctx, func() (err error) {
		t, err = s.load()
		return err
	}, nil)
	switch {
	case errors.Is(err, ErrNoToken):
		return Token{}, err
	case err != nil:
		return Token{}, s.storeErr(ctx, "load", err)
	}
	return t, nil
}

// load reads the file; s.io must be held. Anything unusable is logged (once
// per version of the file) and reported as ErrNoToken so that the next
// fetch replaces it.
func (s *fileStore) load() (Token, error) {
	b, version, err := readRecord(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := s.dirPresent(); err != nil {
			return Token{}, &StoreError{Op: "load", Err: err}
		}
		return Token{}, ErrNoToken
	case err != nil:
		s.warnOnce(s.path, version, "token file unusable; treating it as empty: the next fetch replaces it", "err", err)
		return Token{}, ErrNoToken
	}
	var r fileRecord
	if err := json.Unmarshal(b, &r); err != nil {
		// The decoder's message may quote a byte of the file: log only where.
		s.warnOnce(s.path, version, "token file corrupt; treating it as empty: the next fetch replaces it", "bytes", len(b), "reason", jsonReason(err))
		return Token{}, ErrNoToken
	}
	if r.AccessToken == "" || r.ExpiresAt.IsZero() {
		s.warnOnce(s.path, version, "token file holds no usable token; treating it as empty: the next fetch replaces it", "bytes", len(b))
		return Token{}, ErrNoToken
	}
	return Token{Value: wechat.Secret(r.AccessToken), ExpiresAt: r.ExpiresAt, FetchedAt: r.FetchedAt, By: r.FetchedBy}, nil
}

// warnOnce logs msg about file unless this version of it was the last
// logged: a bad file stays bad until replaced, and is read on every Load.
// s.io must be held.
func (s *fileStore) warnOnce(file, version, msg string, args ...any) {
	if version != "" && s.warned[file] == version {
		return
	}
	s.warned[file] = version
	s.log.Warn(msg, args...)
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

func (s *fileStore) Save(ctx context.Context, t Token, sup Supersede) (Token, error) {
	if err := checkSavable(t); err != nil {
		return Token{}, err
	}
	var saved Token
	err := s.withLock(ctx, func() error {
		if cur, err := s.load(); err == nil && sup.keeps(cur, t) {
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
	if ok && err == nil {
		ictx, cancel := context.WithTimeout(ctx, s.opTimeout)
		if err = s.io.lock(ictx); err != nil {
			err = s.timeout(ctx, err)
		}
		cancel()
	}
	if !ok || err != nil {
		if ok {
			s.fl.Unlock()
		}
		s.lk.unlock()
		if err == nil {
			err = ctx.Err()
		}
		return nil, s.storeErr(ctx, "lock", err)
	}
	s.held = true
	s.io.unlock()
	return once(s.release), nil
}

// release gives the file lock up once no I/O runs under it: at once, unless
// an operation that borrowed the lock is still running (on a hung file
// system, perhaps for long); then a goroutine waits for it, and until then
// the next Lock waits — within its deadline — as it would for another
// holder.
func (s *fileStore) release() {
	select {
	case s.io <- struct{}{}:
		s.unlockHeld()
	default:
		go func() {
			s.io <- struct{}{}
			s.unlockHeld()
		}()
	}
}

// unlockHeld releases the file lock; s.io is held and is released too.
func (s *fileStore) unlockHeld() {
	s.held = false
	s.io.unlock()
	if err := s.fl.Unlock(); err != nil {
		s.log.Error("token file store: unlock", "err", err)
	}
	s.lk.unlock()
}

var errNotHeld = errors.New("file lock not held")

// withLock runs fn with the file lock held: borrowed when this process
// already holds it (a refresh calling Save), else taken for fn.
func (s *fileStore) withLock(ctx context.Context, fn func() error) error {
	err := s.run(ctx, func() error {
		if !s.held {
			return errNotHeld
		}
		return fn()
	}, nil)
	if !errors.Is(err, errNotHeld) {
		return err
	}
	unlock, err := s.Lock(ctx)
	if err != nil {
		return err
	}
	return s.run(ctx, fn, unlock)
}

func (s *fileStore) CountFetch(ctx context.Context, day string) (int64, error) {
	var n int64
	err := s.withLock(ctx, func() error {
		counts := map[string]int64{}
		b, version, err := readRecord(s.countPath)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			s.warnOnce(s.countPath, version, "fetch counter file unusable; restarting the count", "count_path", s.countPath, "err", err)
		case json.Unmarshal(b, &counts) != nil:
			s.warnOnce(s.countPath, version, "fetch counter file corrupt; restarting the count", "count_path", s.countPath)
			counts = map[string]int64{}
		}
		counts[day]++
		n = counts[day]
		pruneDays(counts, day)
		b, err = json.Marshal(counts)
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
