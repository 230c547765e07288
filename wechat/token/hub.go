package token

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/redis/go-redis/v9"
)

// Hub watches the stores of many tokens at once — every account's
// access_token and jsapi_ticket — so that a thousand accounts cost what one
// did: one Redis subscription and one pipelined poll of every token's
// version, or one loop that stats every token file, instead of a
// connection and a ticker per token. Stores opened with Options.Hub watch
// through it; the Managers' watcher goroutines only wait for its news.
// Close stops it.
type Hub struct {
	redis redis.UniversalClient
	log   *slog.Logger

	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu      sync.Mutex
	keys    map[string][]*watch // Redis key → its watchers
	files   map[*watch]*fileStore
	ps      *redis.PubSub // nil until the first Redis watch
	started bool          // the file loop runs
	closed  bool
}

// NewHub returns a Hub; client is the Redis the stores share (nil: file
// stores only).
func NewHub(client redis.UniversalClient, logger *slog.Logger) *Hub {
	if logger == nil {
		logger = discard()
	}
	h := &Hub{redis: client, log: logger, keys: map[string][]*watch{}, files: map[*watch]*fileStore{}}
	h.ctx, h.stop = context.WithCancel(context.Background())
	return h
}

// Close stops the hub's goroutines and waits for them. Watches still
// registered see no more changes.
func (h *Hub) Close() error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.stop()
	h.wg.Wait()
	return nil
}

// watch is one token's registration: the hub records what it saw and wakes
// the token's own watcher goroutine, which calls the Manager. The hub never
// calls a Manager itself, so a slow store read for one token never delays
// the news of another.
type watch struct {
	notify chan struct{} // capacity 1: news is coalesced

	mu      sync.Mutex
	changed bool  // the stored token may have been replaced
	probed  bool  // a periodic check completed
	probe   error // ... with this outcome

	// The hub's view of the token, touched only by the hub's goroutines.
	last  string // Redis: fetched_at as stored; files: unused
	known bool
	fi    fileState
}

func newWatch() *watch { return &watch{notify: make(chan struct{}, 1)} }

// post records news and wakes the token's goroutine.
func (w *watch) post(changed bool, probed bool, probe error) {
	w.mu.Lock()
	w.changed = w.changed || changed
	if probed {
		w.probed, w.probe = true, probe
	}
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// run calls changed and probe with the news posted, on the calling
// goroutine, until ctx ends.
func (w *watch) run(ctx context.Context, changed func(), probe func(error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.notify:
		}
		w.mu.Lock()
		c, p, err := w.changed, w.probed, w.probe
		w.changed, w.probed = false, false
		w.mu.Unlock()
		if p {
			probe(err)
		}
		if c {
			changed()
		}
	}
}

// watchRedis follows key (and its change channel) until ctx ends.
func (h *Hub) watchRedis(ctx context.Context, key, channel string, changed func(), probe func(error)) {
	w := newWatch()
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	first := len(h.keys) == 0 && h.ps == nil
	h.keys[key] = append(h.keys[key], w)
	if first {
		h.ps = h.redis.Subscribe(h.ctx)
		h.wg.Add(2)
		go h.listen(h.ps)
		go h.pollRedis()
	}
	ps := h.ps
	h.mu.Unlock()
	if err := ps.Subscribe(ctx, channel); err != nil && ctx.Err() == nil {
		// The poll finds the change within DefaultRedisPoll meanwhile;
		// go-redis subscribes again when its connection comes back.
		h.log.Debug("token hub: subscribe failed; polling meanwhile", "err", err)
	}
	w.run(ctx, changed, probe)
	h.mu.Lock()
	ws := h.keys[key]
	for i, x := range ws {
		if x == w {
			ws = append(ws[:i:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(h.keys, key)
	} else {
		h.keys[key] = ws
	}
	h.mu.Unlock()
	if len(ws) == 0 && h.ctx.Err() == nil {
		uctx, cancel := context.WithTimeout(h.ctx, watchOpTimeout)
		_ = ps.Unsubscribe(uctx, channel)
		cancel()
	}
}

// listen delivers the change messages of every subscribed token.
func (h *Hub) listen(ps *redis.PubSub) {
	defer h.wg.Done()
	defer ps.Close()
	msgs := ps.Channel()
	for {
		select {
		case <-h.ctx.Done():
			return
		case msg, ok := <-msgs:
			if !ok {
				return
			}
			key := strings.TrimSuffix(msg.Channel, ":changed")
			h.mu.Lock()
			for _, w := range h.keys[key] {
				if !w.known || msg.Payload != w.last {
					w.last, w.known = msg.Payload, true
					w.post(true, false, nil)
				}
			}
			h.mu.Unlock()
		}
	}
}

// pollRedis reads every watched token's version in one pipeline each
// DefaultRedisPoll: the fallback for a change message lost while the
// subscription reconnected, and every token's probe of the store.
func (h *Hub) pollRedis() {
	defer h.wg.Done()
	tick := time.NewTicker(DefaultRedisPoll)
	defer tick.Stop()
	for {
		h.pollOnce()
		select {
		case <-h.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (h *Hub) pollOnce() {
	h.mu.Lock()
	keys := make([]string, 0, len(h.keys))
	for k := range h.keys {
		keys = append(keys, k)
	}
	h.mu.Unlock()
	if len(keys) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(h.ctx, watchOpTimeout)
	defer cancel()
	cmds := make([]*redis.StringCmd, len(keys))
	_, _ = h.redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.HGet(ctx, k, "fetched_at")
		}
		return nil
	})
	if h.ctx.Err() != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, k := range keys {
		v, err := cmds[i].Result()
		if errors.Is(err, redis.Nil) {
			v, err = "", nil
		}
		for _, w := range h.keys[k] {
			if err != nil {
				w.post(false, true, err)
				continue
			}
			// The first reading reports a stored token as a change: the
			// watch may have begun after its Manager read the store.
			changed := v != w.last && (w.known || v != "")
			w.last, w.known = v, true
			w.post(changed, true, nil)
		}
	}
}

// watchFile follows s's token file until ctx ends.
func (h *Hub) watchFile(ctx context.Context, s *fileStore, changed func(), probe func(error)) {
	w := newWatch()
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.files[w] = s
	if !h.started {
		h.started = true
		h.wg.Add(1)
		go h.pollFiles()
	}
	h.mu.Unlock()
	w.run(ctx, changed, probe)
	h.mu.Lock()
	delete(h.files, w)
	h.mu.Unlock()
}

// pollFiles follows every watched token file. A store writes a token by
// renaming a temporary file over it, in TOKEN_STORE's directory, which all
// the accounts' files share: the directory is watched with inotify
// (fsnotify), and a file is looked at when an event names it. Every
// fullScanEvery every file is looked at anyway — the probe of the store's
// health, and the way changes are seen where inotify is not (a network
// mount, a changed directory). Without inotify at all, every file is
// looked at each DefaultFilePoll, as a store alone would. A thousand
// accounts cost a look each every few seconds, not thousands a second.
func (h *Hub) pollFiles() {
	defer h.wg.Done()
	nw, err := fsnotify.NewWatcher()
	if err != nil {
		h.log.Warn("token hub: no inotify; polling the token files", "err", err)
	} else {
		defer nw.Close()
	}
	watched := map[string]bool{} // directories given to nw
	tick := time.NewTicker(DefaultFilePoll)
	defer tick.Stop()
	var lastFull time.Time
	var events <-chan fsnotify.Event
	var errs <-chan error
	if nw != nil {
		events, errs = nw.Events, nw.Errors
	}
	for {
		var only string // "": look at every file
		select {
		case <-h.ctx.Done():
			return
		case ev := <-events:
			only = filepath.Clean(ev.Name)
			if ev.Has(fsnotify.Remove) && watched[only] {
				delete(watched, only) // the directory itself went: look again at the next scan
				only = ""
			}
		case err := <-errs:
			h.log.Debug("token hub: inotify", "err", err)
			only = "" // events may have been lost
		case <-tick.C:
			if nw != nil && time.Since(lastFull) < fullScanEvery {
				continue
			}
		}
		if only == "" {
			lastFull = time.Now()
		}
		h.mu.Lock()
		batch := make([]fileWatch, 0, len(h.files))
		for w, s := range h.files {
			if only == "" || s.path == only {
				batch = append(batch, fileWatch{w, s})
			}
		}
		h.mu.Unlock()
		for _, fw := range batch {
			if d := filepath.Dir(fw.s.path); nw != nil && !watched[d] && nw.Add(d) == nil {
				watched[d] = true
				// Changes before the watch began are seen by this look.
			}
			changed, err := fw.s.stat(h.ctx, &fw.w.fi)
			fw.w.post(changed, true, err)
		}
	}
}

// fullScanEvery is how often pollFiles looks at every file whatever
// inotify says.
const fullScanEvery = 5 * time.Second

type fileWatch struct {
	w *watch
	s *fileStore
}
