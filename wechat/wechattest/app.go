package wechattest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"wxoa/wechat"
)

// App is one account the Server serves: an Official Account or Mini
// Program (appid and secret) or a WeCom application (corp id, agent id and
// the application's secret). Each has its own token series, counters,
// injected failures, menu and messages. Its methods are safe for
// concurrent use.
type App struct {
	s       *Server
	id      string // appid, or the WeCom corp id
	secret  string
	agentID string // WeCom only
	wecom   bool

	// Guarded by s.mu.
	calls     map[string]int64
	tokenFail failRule
	pathFail  map[string]failRule
	current   map[family]string // latest token per family
	latest    string            // latest access_token of either family
	forced    []time.Time       // stable_token force_refresh calls
	menu      json.RawMessage
	messages  []json.RawMessage
	reject    map[string]int // openid or userid → errcode for custom/send and message/send
}

// AddApp adds an Official Account or Mini Program (they share the API and
// its behaviour) that fetches tokens at URL with appID and secret. It
// panics if appID is empty or already added, like httptest on misuse.
func (s *Server) AddApp(appID, secret string) *App {
	s.mu.Lock()
	defer s.mu.Unlock()
	if appID == "" || secret == "" || s.findApp(appID) != nil {
		panic(fmt.Sprintf("wechattest: AddApp(%q): an appid and a secret are required, and the appid must be new", appID))
	}
	return s.addApp(&App{id: appID, secret: secret})
}

// AddWeComApp adds a WeCom application of corpID, which fetches tokens at
// WeComURL with corpID and its secret and sends as agentID. Applications of
// one corp differ by agent id and secret, and each holds a token of its
// own. It panics if an argument is empty or the application (or its
// secret, within the corp) was already added.
func (s *Server) AddWeComApp(corpID, agentID, secret string) *App {
	s.mu.Lock()
	defer s.mu.Unlock()
	dup := slices.ContainsFunc(s.apps, func(a *App) bool {
		return a.wecom && a.id == corpID && (a.agentID == agentID || a.secret == secret)
	})
	if corpID == "" || agentID == "" || secret == "" || dup {
		panic(fmt.Sprintf("wechattest: AddWeComApp(%q, %q): corp, agent and secret are required, and the application and its secret must be new", corpID, agentID))
	}
	return s.addApp(&App{id: corpID, secret: secret, agentID: agentID, wecom: true})
}

func (s *Server) addApp(a *App) *App {
	a.s = s
	a.calls = make(map[string]int64)
	a.pathFail = make(map[string]failRule)
	a.current = make(map[family]string)
	a.reject = make(map[string]int)
	s.apps = append(s.apps, a)
	return a
}

// App returns the Official Account or Mini Program with appID, the default
// one included, or nil.
func (s *Server) App(appID string) *App {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.findApp(appID)
}

// WeComApp returns the WeCom application, or nil.
func (s *Server) WeComApp(corpID, agentID string) *App {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.apps {
		if a.wecom && a.id == corpID && a.agentID == agentID {
			return a
		}
	}
	return nil
}

// DefaultApp returns the app of Options, on which the Server's own methods act.
func (s *Server) DefaultApp() *App { return s.def }

// Apps returns every app in the order added, the default one first.
func (s *Server) Apps() []*App {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.apps)
}

// findApp returns the non-WeCom app with appID. s.mu must be held.
func (s *Server) findApp(appID string) *App {
	for _, a := range s.apps {
		if !a.wecom && a.id == appID {
			return a
		}
	}
	return nil
}

// AppID returns the appid, or the corp id of a WeCom application.
func (a *App) AppID() string { return a.id }

// AgentID returns a WeCom application's agent id, or "".
func (a *App) AgentID() string { return a.agentID }

// Secret returns the secret the app's token endpoint accepts.
func (a *App) Secret() string { return a.secret }

// Platform returns the API the app is served on.
func (a *App) Platform() wechat.Platform {
	if a.wecom {
		return wechat.PlatformWeCom
	}
	return wechat.PlatformWeChat
}

// URL returns the base URL the app's client calls: the Server's URL, or
// its WeComURL.
func (a *App) URL() string {
	if a.wecom {
		return a.s.WeComURL
	}
	return a.s.URL
}

// Calls returns how many of the app's requests reached path (failed ones
// included): token calls by its credentials, others by its token.
func (a *App) Calls(path string) int64 {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.calls[path]
}

// TokenCalls returns the app's calls to its token endpoints.
func (a *App) TokenCalls() int64 {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.calls[pathToken] + a.calls[pathStableToken] + a.calls[pathGetToken]
}

// Current returns the app's access_token minted last (classic or stable), or "".
func (a *App) Current() string {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.latest
}

// Ticket returns the app's jsapi_ticket minted last, or "".
func (a *App) Ticket() string {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.current[ticket]
}

// Messages returns the messages accepted with the app's token, as sent:
// customer-service messages (custom/send), or for WeCom application
// messages (message/send).
func (a *App) Messages() []json.RawMessage {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return cloneAll(a.messages)
}

// RejectCustomFor makes the app's message sends to user (an openid, or a
// WeCom userid) answer code, e.g. 45015, the 48-hour window being closed.
// Code 0 stops rejecting.
func (a *App) RejectCustomFor(user string, code int) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	if code == 0 {
		delete(a.reject, user)
		return
	}
	a.reject[user] = code
}

// Menu returns the app's menu as created, or nil.
func (a *App) Menu() json.RawMessage {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return bytes.Clone(a.menu)
}

// SetMenu stores a menu as if menu/create had been called (nil deletes it).
func (a *App) SetMenu(menu json.RawMessage) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	a.menu = bytes.Clone(menu)
}

// enter counts a request attributed to a and takes one of a's injected
// failures, if any. s.mu must be held.
func (a *App) enter(path string) (Failure, bool) {
	a.calls[path]++
	return takeFailure(a.pathFail, &a.tokenFail, path)
}

func cloneAll(ms []json.RawMessage) []json.RawMessage {
	out := make([]json.RawMessage, len(ms))
	for i, m := range ms {
		out[i] = bytes.Clone(m)
	}
	return out
}

// The Server's methods of the default app.

// Current returns the default app's access_token minted last (classic or stable), or "".
func (s *Server) Current() string { return s.def.Current() }

// Ticket returns the default app's jsapi_ticket minted last, or "".
func (s *Server) Ticket() string { return s.def.Ticket() }

// Menu returns the default app's menu as created, or nil.
func (s *Server) Menu() json.RawMessage { return s.def.Menu() }

// SetMenu stores the default app's menu as if menu/create had been called
// (nil deletes it).
func (s *Server) SetMenu(menu json.RawMessage) { s.def.SetMenu(menu) }

// RejectCustomFor makes the default app's custom/send answer code (e.g.
// 45015, the 48-hour window being closed) for messages to openid. Code 0
// stops rejecting.
func (s *Server) RejectCustomFor(openid string, code int) { s.def.RejectCustomFor(openid, code) }

// CustomMessages returns the customer-service messages accepted so far, of
// every app, in the order they came, as sent.
func (s *Server) CustomMessages() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneAll(s.messages)
}
