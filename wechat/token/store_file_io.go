package token

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxRecord bounds what is read of the token file and the fetch counter:
// a token record is under 1 KiB (WeChat asks for 512 bytes of room for the
// token), a counter a few dozen bytes.
const maxRecord = 4 << 10

// run does fn, the store's file I/O, under s.io on a goroutine of its own,
// and waits for it until ctx ends or opTimeout passes. A file system call
// cannot be interrupted: when one hangs, the caller gets an error at the
// deadline while fn finishes (if ever) on its own, keeping s.io so that
// later operations queue behind it and time out rather than pile up.
// release, if set, runs once fn is over, or at once if fn never started.
func (s *fileStore) run(ctx context.Context, fn func() error, release func()) error {
	octx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	if err := s.io.lock(octx); err != nil {
		if release != nil {
			release()
		}
		return s.timeout(ctx, err)
	}
	done := make(chan error, 1)
	go func() {
		err := fn()
		s.io.unlock()
		if release != nil {
			release()
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-octx.Done():
		return s.timeout(ctx, octx.Err())
	}
}

// timeout is run's error when fn did not finish in time: the caller's own
// ending, or the file system's silence.
func (s *fileStore) timeout(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("no answer from the file system within %s: %w", s.opTimeout, err)
}

// readRecord reads the small regular file at path, following a symlink,
// and returns its bytes and a version string naming this state of it (for
// logging a bad file once). It never blocks on a FIFO, never opens a
// device, and never reads more than maxRecord bytes: anything else is an
// error (fs.ErrNotExist when there is no file).
func readRecord(path string) (b []byte, version string, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err.Error(), err
	}
	version = versionOf(fi)
	if odd := oddness(fi); odd != "" {
		return nil, version, fmt.Errorf("the file is %s", odd)
	}
	// O_NONBLOCK: should a FIFO replace the file after the Stat, opening it
	// returns at once; fstat then refuses it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, version, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, version, err
	}
	version = versionOf(fi)
	if odd := oddness(fi); odd != "" {
		return nil, version, fmt.Errorf("the file is %s", odd)
	}
	b, err = io.ReadAll(io.LimitReader(f, maxRecord+1))
	if err == nil && len(b) > maxRecord {
		err = fmt.Errorf("the file is over %d bytes", maxRecord)
	}
	return b, version, err
}

// oddness says what makes fi no token record, or "" if it may be one.
func oddness(fi fs.FileInfo) string {
	switch m := fi.Mode(); {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&(fs.ModeDevice|fs.ModeCharDevice) != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case !m.IsRegular():
		return "not a regular file"
	case fi.Size() > maxRecord:
		return fmt.Sprintf("%d bytes, over the %d a token record can need", fi.Size(), maxRecord)
	}
	return ""
}

// versionOf names one state of a file: its identity, size, time and type.
func versionOf(fi fs.FileInfo) string {
	id := ""
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id = fmt.Sprintf("%d:%d:", st.Dev, st.Ino)
	}
	return fmt.Sprintf("%s%d:%d:%v", id, fi.Size(), fi.ModTime().UnixNano(), fi.Mode())
}

// writeFileAtomic replaces path with data so that a crash leaves either the
// old file or the new one, never a torn one: temp file in the same
// directory, fsync, chmod 0600, rename, fsync the directory. The temp file
// is created exclusively and the rename replaces whatever path is — a
// symlink, a FIFO — without following it.
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

// look is one watcher check of the token file.
type look struct {
	fi   fs.FileInfo // the file; nil: there is none
	seen bool        // fi is known (the directory answered)
	err  error       // nil: a load can read the file and a save replace it
}

// look stats the token file (never opening it) within the store's deadline
// and checks that a save could replace it: the directory exists and takes
// new files, and the file is no directory.
func (s *fileStore) look(ctx context.Context) look {
	var l look
	err := s.run(ctx, func() error {
		fi, err := os.Stat(s.path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if l.err = s.dirPresent(); l.err != nil {
				return nil
			}
			l.seen = true
		case err != nil:
			l.err = err
			return nil
		default:
			l.fi, l.seen = fi, true
			if odd := oddness(fi); odd != "" {
				l.err = fmt.Errorf("token file is %s", odd)
				return nil
			}
		}
		if err := unix.Access(filepath.Dir(s.path), unix.W_OK|unix.X_OK); err != nil {
			l.err = fmt.Errorf("token directory refuses new files: %w", err)
		}
		return nil
	}, nil)
	if err != nil {
		return look{err: err}
	}
	return l
}

// sameVersion reports whether two looks at the file found the same one.
func sameVersion(a, b fs.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

// Watch looks at the token file every DefaultFilePoll and reports a change
// of its identity (the atomic rename makes a new inode), size or
// modification time. probe gets each look's verdict: a missing directory,
// one refusing new files, or a file no save can replace is an error; a
// missing file is not (no token yet). A file changed to something unusable
// (a FIFO, a device) is reported to changed first, whose save replaces it.
//
// Through the store's Hub, if it has one, one goroutine looks at every
// token file of the process (see Hub.pollFiles).
func (s *fileStore) Watch(ctx context.Context, changed func(), probe func(error)) {
	if s.hub != nil {
		s.hub.watchFile(ctx, s, changed, probe)
		return
	}
	tick := time.NewTicker(DefaultFilePoll)
	defer tick.Stop()
	var last fs.FileInfo
	known := false
	for {
		l := s.look(ctx)
		if ctx.Err() != nil {
			return
		}
		if l.seen {
			if known && !sameVersion(last, l.fi) {
				changed()
				if l.err != nil {
					// The change's save may have mended the file.
					if again := s.look(ctx); again.seen {
						l = again
					}
				}
			}
			last, known = l.fi, true
		}
		probe(l.err)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// fileState is what the last look at a token file saw, for the Hub.
type fileState struct {
	last  fs.FileInfo // nil: no file
	known bool        // a look has completed
}

// stat looks at the token file once, bounded like every look: changed
// reports another version than the last call saw — or, on the first look,
// a file at all: the watch may have begun after its Manager read the store,
// and a token written in between must not go unseen. err is what probe
// gets.
func (s *fileStore) stat(ctx context.Context, st *fileState) (changed bool, err error) {
	l := s.look(ctx)
	if l.seen {
		changed = !sameVersion(st.last, l.fi) && (st.known || l.fi != nil)
		st.last, st.known = l.fi, true
	}
	return changed, l.err
}
