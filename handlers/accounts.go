package handlers

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"wxoa/handlers/admin"
	"wxoa/wechat"
)

// Kind is what sort of WeChat account an Account is; it decides the
// callback's protocol and which drop-in endpoint serves its token.
type Kind string

// Account kinds, spelled as in the accounts file.
const (
	OfficialAccount Kind = "official_account"
	MiniProgram     Kind = "mini_program"
	WeCom           Kind = "wecom"
)

// Account is one configured account as the HTTP surface sees it:
// everything a request for it needs, built by the account's constructor
// and swapped in whole with the rest of its set on a reload. Handlers
// always receive the account a request is for; there is no default one.
type Account struct {
	Name    string
	Kind    Kind
	AppID   string        // the appid, or the WeCom corp id
	AgentID string        // WeCom: the application's agent id
	Secret  wechat.Secret // authenticates the drop-in token endpoints

	// Tokens serves the account's access_token; nil: the account makes no
	// active calls and the token API answers 404 for it.
	Tokens TokenService
	// JSSDK signs pages for wx.config; nil: not served for this account.
	JSSDK JSSDKService
	// Managed are the token managers /healthz reports on.
	Managed []Managed
	// Callback is the account's callback; nil: none is served.
	Callback *Callback
	// Admin is the account's section of the admin page; nil: none.
	Admin *admin.Account

	// rendered is the account's last GET /api/token answer (tokenAPI).
	rendered atomic.Pointer[renderedToken]
}

// Callback is what an account's callback URL needs to check and answer
// WeChat.
type Callback struct {
	Path    string
	Token   wechat.Secret
	Crypter *wechat.Crypter // nil: plaintext only (never nil for WeCom)
	// JSON: a Mini Program whose pushes are JSON (data_format json).
	JSON bool
	// Answerer answers each pushed message (*reply.Pipeline); required.
	Answerer Answerer
	// Observer counts the account's callbacks (*metrics.Account); nil: none.
	Observer CallbackObserver
}

// CallbackObserver counts one account's callbacks (*metrics.Account).
// Its methods run on every push and must be cheap.
type CallbackObserver interface {
	// CallbackMessage is one accepted push: the message and the mode it
	// came in (metrics.ModePlain, ModeCompat, ModeSafe).
	CallbackMessage(msg wechat.Message, mode string)
	// CallbackRejected is one refused push, by reason: a metrics.Reject*
	// constant, or metrics.Other.
	CallbackRejected(reason string)
}

// Accounts is an immutable set of accounts with the indexes requests look
// them up by. A reload builds a new set and swaps it in (Router.SetAccounts).
type Accounts struct {
	list    []*Account
	byName  map[string]*Account
	byAppID map[string]*Account   // Official Accounts and Mini Programs
	byCorp  map[string][]*Account // WeCom applications, by corp id
	byPath  map[string]*Account   // callback paths
}

// NewAccounts indexes list, in its order. Names, appids, WeCom
// applications (corp and agent) and callback paths must be distinct.
func NewAccounts(list ...*Account) (*Accounts, error) {
	s := &Accounts{list: slices.Clone(list), byName: map[string]*Account{}, byAppID: map[string]*Account{},
		byCorp: map[string][]*Account{}, byPath: map[string]*Account{}}
	var errs []error
	for _, a := range list {
		if a == nil || a.Name == "" {
			errs = append(errs, errors.New("handlers: an account without a name"))
			continue
		}
		if _, dup := s.byName[a.Name]; dup {
			errs = append(errs, fmt.Errorf("handlers: account %q listed twice", a.Name))
		}
		s.byName[a.Name] = a
		switch {
		case a.Kind == WeCom:
			if slices.ContainsFunc(s.byCorp[a.AppID], func(b *Account) bool { return b.AgentID == a.AgentID }) {
				errs = append(errs, fmt.Errorf("handlers: account %q: WeCom application %s/%s listed twice", a.Name, a.AppID, a.AgentID))
			}
			s.byCorp[a.AppID] = append(s.byCorp[a.AppID], a)
		case a.AppID != "":
			if _, dup := s.byAppID[a.AppID]; dup {
				errs = append(errs, fmt.Errorf("handlers: account %q: appid %s listed twice", a.Name, a.AppID))
			}
			s.byAppID[a.AppID] = a
		}
		if cb := a.Callback; cb != nil {
			switch {
			case cb.Path == "" || cb.Path[0] != '/':
				errs = append(errs, fmt.Errorf("handlers: account %q: callback path must start with /", a.Name))
			case cb.Answerer == nil:
				errs = append(errs, fmt.Errorf("handlers: account %q: callback without an Answerer", a.Name))
			case a.Kind == WeCom && cb.Crypter == nil:
				errs = append(errs, fmt.Errorf("handlers: account %q: a WeCom callback needs its EncodingAESKey", a.Name))
			}
			if _, dup := s.byPath[cb.Path]; dup {
				errs = append(errs, fmt.Errorf("handlers: account %q: callback path %s is another account's", a.Name, cb.Path))
			}
			s.byPath[cb.Path] = a
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// All returns the accounts in their configured order.
func (s *Accounts) All() []*Account { return s.list }

// Len is the number of accounts.
func (s *Accounts) Len() int { return len(s.list) }

// Lookup returns the account named name.
func (s *Accounts) Lookup(name string) (*Account, bool) {
	a, ok := s.byName[name]
	return a, ok
}

// ByAppID returns the Official Account or Mini Program with appid.
func (s *Accounts) ByAppID(appID string) (*Account, bool) {
	a, ok := s.byAppID[appID]
	return a, ok
}

// anyTokens reports whether some account serves a token.
func (s *Accounts) anyTokens() bool {
	return slices.ContainsFunc(s.list, func(a *Account) bool { return a.Tokens != nil })
}

// anyKind reports whether some account of kind k serves a token.
func (s *Accounts) anyKind(k Kind) bool {
	return slices.ContainsFunc(s.list, func(a *Account) bool { return a.Tokens != nil && a.Kind == k })
}

// Errors of Select: the client named no account where several exist, or
// one that does not exist.
var (
	errNoSelector = inputError("several accounts are configured: choose one with account=NAME or appid=APPID")
	errMismatch   = inputError("account and appid name different accounts: give one of them")
)

// unknownAccountError is a selector naming no configured account (404).
type unknownAccountError struct{ by, value string }

func (e *unknownAccountError) Error() string {
	return fmt.Sprintf("no account with %s %q", e.by, admin.Printable(e.value))
}

// Select picks the account a token API request is for: by name, by appid
// (an Official Account's or Mini Program's; a WeCom application has none of
// its own), or, with a single account configured, that one when neither is
// given. Giving both is allowed when they agree.
func (s *Accounts) Select(name, appID string) (*Account, error) {
	var byName, byApp *Account
	if name != "" {
		a, ok := s.byName[name]
		if !ok {
			return nil, &unknownAccountError{"name", name}
		}
		byName = a
	}
	if appID != "" {
		a, ok := s.byAppID[appID]
		if !ok {
			return nil, &unknownAccountError{"appid", appID}
		}
		byApp = a
	}
	switch {
	case byName != nil && byApp != nil && byName != byApp:
		return nil, errMismatch
	case byName != nil:
		return byName, nil
	case byApp != nil:
		return byApp, nil
	case len(s.list) == 1:
		return s.list[0], nil
	}
	return nil, errNoSelector
}
