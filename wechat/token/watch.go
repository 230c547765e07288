package token

import (
	"context"
	"errors"
	"time"
)

// watchOpTimeout bounds each store read the watcher makes.
const watchOpTimeout = 2 * time.Second

// onChange follows a token another process saved: callers get it from the
// next Token call on, without waiting for this process's own refresh. A
// read that fails leaves the change pending: the watcher has already moved
// past the version it saw, so the next probe that succeeds reads again.
func (m *Manager) onChange() {
	ctx, cancel := context.WithTimeout(m.done, watchOpTimeout)
	defer cancel()
	t, err := m.load(ctx)
	m.changePending.Store(err != nil && !errors.Is(err, ErrNoToken))
	switch {
	case err == nil:
		m.storeOK()
		if !m.remember(t, m.now()) {
			m.resync(ctx) // the store holds an older token than ours
		}
	case errors.Is(err, ErrNoToken):
		m.storeOK()
		m.resync(ctx) // the store lost its token (a restart, a flush)
	default:
		m.storeFailed(err)
	}
}

// onProbe takes the watcher's periodic check of the store.
func (m *Manager) onProbe(err error) {
	if err != nil {
		m.storeFailed(&StoreError{Op: "watch", Err: err})
		return
	}
	if m.changePending.Load() {
		m.onChange()
	}
	// Called on every probe, not only while failing: an outage is logged as
	// over once the store has answered for storeUpHold.
	if !m.storeOK() {
		return
	}
	if _, ok := m.hotToken(); !ok {
		// Nothing to share, but the store may hold a token another instance
		// fetched while this one could not read it. The watcher reports no
		// change for it (it had no earlier version to compare with), and a
		// failure remembered meanwhile would hide the token from callers
		// until its back-off ends: read it now, once per recovery.
		m.onChange()
		return
	}
	ctx, cancel := context.WithTimeout(m.done, watchOpTimeout)
	defer cancel()
	m.resync(ctx)
}

// resync gives the store the token in memory when the store's own is older
// or gone: after an outage, a token fetched alone becomes the fleet's, and
// after a Redis restart the fleet re-seeds it instead of fetching again.
// Save keeps whichever token is newer, so racing instances converge.
func (m *Manager) resync(ctx context.Context) {
	hot, ok := m.hotToken()
	if !ok {
		return
	}
	saved, err := m.store.Save(ctx, hot, m.supersede(m.now(), ""))
	if err != nil {
		m.storeFailed(err)
		return
	}
	if !saved.Value.Equal(hot.Value.Reveal()) {
		m.remember(saved, m.now())
	}
}
