package account

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"

	"wxoa/config"
	"wxoa/handlers"
	"wxoa/internal/metrics"
	"wxoa/reply/rules"
)

// Registry holds the configured accounts by name. Lookups are one atomic
// load and one map lookup; Reload swaps the whole set.
type Registry struct {
	sh  Shared
	mu  sync.Mutex // serialises Reload and Close
	cur atomic.Pointer[set]
}

// set is one generation of accounts, never modified once stored.
type set struct {
	list    []*Account
	byName  map[string]*Account
	surface *handlers.Accounts
}

// Change is what a Reload did, by account name.
type Change struct {
	Added, Removed, Rebuilt []string
	// Rebuilt accounts whose credentials did not change keep their token
	// managers (and tokens): TokensKept names them.
	TokensKept []string
	Unchanged  int
}

// String is the one line a reload logs.
func (c Change) String() string {
	if len(c.Added)+len(c.Removed)+len(c.Rebuilt) == 0 {
		return fmt.Sprintf("nothing changed (%d accounts)", c.Unchanged)
	}
	return fmt.Sprintf("added %v, removed %v, rebuilt %v (tokens kept: %v), unchanged %d",
		c.Added, c.Removed, c.Rebuilt, c.TokensKept, c.Unchanged)
}

// LogValue lists the change for slog.
func (c Change) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("added", c.Added), slog.Any("removed", c.Removed), slog.Any("rebuilt", c.Rebuilt),
		slog.Any("tokens_kept", c.TokensKept), slog.Int("unchanged", c.Unchanged))
}

// Open builds every account of specs; apply (nil: none) is given their
// surface before the registry holds them, and an error from it undoes the
// build. Accounts fetch no token here: each fetches on first use, or reads
// the one its store already holds.
func Open(specs []config.Account, sh Shared, apply func(*handlers.Accounts) error) (*Registry, error) {
	if sh.Config == nil || sh.Logger == nil {
		return nil, errors.New("account: Shared needs Config and Logger")
	}
	if sh.Dedup != nil && sh.Forwarder == nil {
		return nil, errors.New("account: Shared.Dedup needs a Forwarder")
	}
	r := &Registry{sh: sh}
	r.cur.Store(&set{byName: map[string]*Account{}})
	if _, err := r.Reload(specs, apply); err != nil {
		return nil, err
	}
	return r, nil
}

// Lookup returns the account named name.
func (r *Registry) Lookup(name string) (*Account, bool) {
	a, ok := r.cur.Load().byName[name]
	return a, ok
}

// All returns the accounts in their configured order.
func (r *Registry) All() []*Account { return r.cur.Load().list }

// Surface returns the accounts as the HTTP surface sees them.
func (r *Registry) Surface() *handlers.Accounts { return r.cur.Load().surface }

// Reload builds the accounts of specs beside the running ones and swaps
// them in: added accounts start, removed ones stop, changed ones are
// rebuilt (keeping their token managers when their credentials did not
// change), unchanged ones are kept as they are and fetch nothing. Rules
// files are read again: an edited one rebuilds its accounts' callbacks.
// apply (nil: none) gets the new surface before the swap; if it or any
// build fails, everything new is closed and the running set is kept.
func (r *Registry) Reload(specs []config.Account, apply func(*handlers.Accounts) error) (Change, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.cur.Load()
	rulesCache := map[string]rulesRef{}
	var errs []error
	next := &set{byName: make(map[string]*Account, len(specs))}
	var ch Change
	var built []*Account // new this reload: closed if the reload fails
	kept := map[*tokenPart]bool{}
	for _, spec := range specs {
		rr, err := loadRules(spec, rulesCache)
		if err != nil {
			errs = append(errs, fmt.Errorf("account %s: %w", spec.Name, err))
			continue
		}
		prev := old.byName[spec.Name]
		switch {
		case prev == nil:
			ch.Added = append(ch.Added, spec.Name)
		case sameAccount(prev, spec, rr):
			next.add(prev)
			kept[prev.tok] = true
			ch.Unchanged++
			continue
		default:
			ch.Rebuilt = append(ch.Rebuilt, spec.Name)
		}
		var tok *tokenPart
		if prev != nil && sameTokens(prev.Spec, spec) {
			tok = prev.tok
			kept[tok] = true
			ch.TokensKept = append(ch.TokensKept, spec.Name)
		}
		a, err := New(spec, r.sh, tok, rr)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		built = append(built, a)
		next.add(a)
	}
	var err error
	if len(errs) == 0 {
		surfaces := make([]*handlers.Account, len(next.list))
		for i, a := range next.list {
			surfaces[i] = a.Surface
		}
		if next.surface, err = handlers.NewAccounts(surfaces...); err == nil && apply != nil {
			err = apply(next.surface)
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		for _, a := range built {
			if !kept[a.tok] {
				a.tok.Close()
			}
		}
		return Change{}, err
	}
	r.cur.Store(next)
	for _, a := range old.list {
		if _, ok := next.byName[a.Spec.Name]; !ok {
			ch.Removed = append(ch.Removed, a.Spec.Name)
			r.sh.Metrics.ForgetAccount(a.Spec.Name)
		}
		if !kept[a.tok] {
			if err := a.tok.Close(); err != nil {
				a.log.Warn("closing the replaced account's token managers", "err", err)
			}
			r.sh.Metrics.UnwatchTokens(a.Spec.Name)
		}
	}
	for _, a := range built {
		if a.tok == nil || slices.Contains(ch.TokensKept, a.Spec.Name) {
			continue
		}
		managers := []metrics.TokenStats{a.Tokens}
		if a.Tickets != nil {
			managers = append(managers, a.Tickets)
		}
		if err := r.sh.Metrics.WatchTokens(a.Spec.Name, managers...); err != nil {
			a.log.Warn("token metrics not exported", "err", err)
		}
	}
	return ch, nil
}

func (s *set) add(a *Account) {
	s.list = append(s.list, a)
	s.byName[a.Spec.Name] = a
}

// Close stops every account's managers and closes their stores.
func (r *Registry) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, a := range r.cur.Load().list {
		errs = append(errs, a.tok.Close())
	}
	r.cur.Store(&set{byName: map[string]*Account{}})
	return errors.Join(errs...)
}

// sameAccount reports whether a is what spec and its rules would build.
func sameAccount(a *Account, spec config.Account, rr rulesRef) bool {
	// Not Source (FILE:LINE): a line added above an account moves it
	// without changing it.
	return sameTokens(a.Spec, spec) && sameCallback(a.Spec, spec) && a.rules.digest == rr.digest
}

// sameTokens reports whether two specs' tokens are the same: same kind,
// credentials, endpoint and quota.
func sameTokens(a, b config.Account) bool {
	return a.Kind == b.Kind && a.AppID == b.AppID && a.Secret.Equal(b.Secret.Reveal()) && a.AgentID == b.AgentID &&
		a.Mode == b.Mode && urlString(a.APIBase) == urlString(b.APIBase) && a.DailyLimit == b.DailyLimit
}

// sameCallback reports whether two specs' callbacks are configured alike
// (the rules' content is compared separately).
func sameCallback(a, b config.Account) bool {
	return a.Token.Equal(b.Token.Reveal()) && a.EncodingAESKey.Equal(b.EncodingAESKey.Reveal()) &&
		a.CallbackPath == b.CallbackPath && a.RulesFile == b.RulesFile && a.DataFormat == b.DataFormat
}

func urlString(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.String()
}

// loadRules parses spec's rules file (the embedded default for ""), once
// per file and reload: accounts sharing a file share its Engine, which is
// immutable.
func loadRules(spec config.Account, cache map[string]rulesRef) (rulesRef, error) {
	if !spec.Callback() {
		return rulesRef{}, nil
	}
	if rr, ok := cache[spec.RulesFile]; ok {
		return rr, nil
	}
	name, data, err := rules.ReadFile(spec.RulesFile)
	if err != nil {
		return rulesRef{}, fmt.Errorf("reply rules: %w", err)
	}
	e, err := rules.Parse(name, data)
	if err != nil {
		return rulesRef{}, fmt.Errorf("reply rules:\n%w", err)
	}
	rr := rulesRef{engine: e, digest: sha256.Sum256(data)}
	cache[spec.RulesFile] = rr
	return rr, nil
}
