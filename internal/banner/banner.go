// Package banner renders the few lines wxoa prints at start-up, so a
// developer sees at a glance which build, env file, mode, store and APIs
// the server runs with, before the JSON or text logs start.
package banner

import (
	"fmt"
	"net/url"
	"strings"
)

// Info is what the banner shows. The caller fills it from the loaded
// configuration; every field is printable as is.
type Info struct {
	Version      string // BuildVersion()
	EnvFile      string // the env file read; "" when none was
	AESKey       bool   // WECHAT_ENCODING_AES_KEY is set: compatible/safe mode
	Store        string // printable token store spec; a URL's password is masked anyway
	ListenAddr   string // LISTEN_ADDR; "" when not listening locally
	CallbackPath string // WECHAT_CALLBACK_PATH
	PublicURL    string // the tunnel's base URL with --tunnel; "" without
	APIs         []API  // in the order to show
	// Accounts are the accounts served. With one, the mode and callback
	// rows are its; with several, one "accounts" row lists them.
	Accounts []Account
}

// Account is one account in the banner.
type Account struct {
	Name, Kind   string
	CallbackPath string
	Callback     bool // a callback is served
	AESKey       bool // its EncodingAESKey is set
}

// maxAccountsShown bounds the accounts row: a thousand accounts would
// bury the banner; the admin page and /healthz list them all.
const maxAccountsShown = 5

// API is one optional part of the server and whether it is served.
type API struct {
	Name string // e.g. "token API", "drop-in", "JS-SDK", "metrics", "admin"
	On   bool
}

// Banner renders info as 8 aligned lines of plain text, ending in a newline,
// for stdout: no colours, so it reads the same in a terminal, a file or CI.
func Banner(info Info) string {
	var b strings.Builder
	fmt.Fprintf(&b, "wxoa %s\n", or(info.Version, "(unknown version)"))
	row := func(k, v string) { fmt.Fprintf(&b, "  %-9s %s\n", k, v) }
	row("env file", or(info.EnvFile, "none"))
	if len(info.Accounts) == 1 {
		a := info.Accounts[0]
		info.AESKey = a.AESKey
		info.CallbackPath = ""
		if a.Callback {
			info.CallbackPath = a.CallbackPath
		}
	}
	if len(info.Accounts) > 1 {
		row("accounts", accounts(info.Accounts))
	} else {
		row("mode", mode(info.AESKey))
	}
	row("store", or(maskPassword(info.Store), "none"))
	row("listen", or(info.ListenAddr, "none"))
	if len(info.Accounts) <= 1 {
		row("callback", or(info.CallbackPath, "none"))
	}
	tunnel := "off"
	switch {
	case info.PublicURL != "" && len(info.Accounts) > 1:
		tunnel = strings.TrimSuffix(info.PublicURL, "/") + " (+ each account's callback path)"
	case info.PublicURL != "":
		tunnel = strings.TrimSuffix(info.PublicURL, "/") + info.CallbackPath
	}
	row("tunnel", tunnel)
	row("apis", apis(info.APIs))
	return b.String()
}

// accounts lists the first accounts with their kind and callback.
func accounts(list []Account) string {
	var parts []string
	for i, a := range list {
		if i == maxAccountsShown {
			parts = append(parts, fmt.Sprintf("and %d more", len(list)-i))
			break
		}
		cb := "no callback"
		if a.Callback {
			cb = a.CallbackPath
		}
		parts = append(parts, fmt.Sprintf("%s (%s, %s)", a.Name, a.Kind, cb))
	}
	return fmt.Sprintf("%d: %s", len(list), strings.Join(parts, ", "))
}

// mode names the message modes the server accepts: with a key it refuses
// plaintext posts, without one it cannot decrypt.
func mode(aesKey bool) string {
	if aesKey {
		return "compatible/safe (EncodingAESKey set; plaintext posts refused)"
	}
	return "plaintext (no EncodingAESKey; encrypted posts refused)"
}

// apis lists the parts that are on, then those that are off, so the line
// reads the same whatever order they come in.
func apis(list []API) string {
	var on, off []string
	for _, a := range list {
		if a.On {
			on = append(on, a.Name)
		} else {
			off = append(off, a.Name)
		}
	}
	var parts []string
	if len(on) > 0 {
		parts = append(parts, "on: "+strings.Join(on, ", "))
	}
	if len(off) > 0 {
		parts = append(parts, "off: "+strings.Join(off, ", "))
	}
	return or(strings.Join(parts, "; "), "none")
}

// maskPassword masks the password of a URL-shaped store spec (a Redis URL),
// in case the caller passed one unmasked: the banner goes to stdout.
func maskPassword(store string) string {
	u, err := url.Parse(store)
	if err != nil || u.User == nil {
		return store
	}
	if _, set := u.User.Password(); !set {
		return store
	}
	return u.Redacted()
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
