package admin

import (
	"sync"
)

// Account is one account's section of the page, built with the account and
// replaced with it on a reload. Use it by pointer: it holds its menu cache.
type Account struct {
	Name string
	Kind string // "official_account", "mini_program", "wecom"
	// Tokens is the account's token manager; nil: the account makes no
	// active calls (no token shown, no "Refresh now").
	Tokens       Tokens
	CallbackPath string     // "": no callback served
	CallbackMode string     // "plaintext", "compatible/safe", "encrypted (JSON)", ...
	Menu         MenuSource // nil: no menu shown (not an Official Account, or no active calls)

	menuOnce sync.Once
	menu     *menuCache
}

// menuCache returns the account's menu cache, made on first use with the
// page's clock and logger.
func (a *Account) menuCache(ad *Admin) *menuCache {
	a.menuOnce.Do(func() {
		a.menu = &menuCache{src: a.Menu, noMenu: ad.noMenu, now: ad.now, log: ad.log}
	})
	return a.menu
}
