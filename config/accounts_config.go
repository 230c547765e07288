package config

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"wxoa/wechat"
	"wxoa/wechat/api"
)

// singleAccount reads the single-account variables exactly as before
// ACCOUNTS_FILE existed, and makes them the one account.
func (c *Config) singleAccount(l *loader) {
	c.AppID = l.str(envAppID, "")
	c.AppSecret = wechat.Secret(l.str(envAppSecret, ""))
	c.Token = l.callbackToken(envToken)
	c.EncodingAESKey = l.aesKey(envEncodingAESKey, envAppID)
	c.CallbackPath = l.callbackPath(envCallbackPath, "/wechat")
	c.RulesFile = l.str(envRulesFile, "")
	c.TokenMode = api.Mode(l.oneOf(envTokenMode, string(api.ModeClassic), string(api.ModeClassic), string(api.ModeStable)))
	c.Accounts = []Account{{
		Name:           DefaultAccountName,
		Kind:           KindOfficialAccount,
		AppID:          c.AppID,
		Secret:         c.AppSecret,
		Mode:           c.TokenMode,
		Token:          c.Token,
		EncodingAESKey: c.EncodingAESKey,
		CallbackPath:   c.CallbackPath,
		RulesFile:      c.RulesFile,
		APIBase:        c.APIBase,
		DailyLimit:     c.TokenDailyLimit,
	}}
}

func (c *Config) accountDefaults() accountDefaults {
	return accountDefaults{apiBase: c.APIBase, weComAPIBase: c.WeComAPIBase, dailyLimit: c.TokenDailyLimit}
}

// ReloadAccounts reads the accounts again, for SIGHUP: ACCOUNTS_FILE and
// the ${VAR}s it references are looked up anew in getenv (nil:
// os.Getenv) and the env file Load read (c.EnvFile, read again), the
// environment winning as in Load; every other setting, the defaults of
// api_base and daily_limit included, stays as at start-up. A broken file
// is an error with every problem, as from Load, and the caller keeps its
// running set.
//
// Without ACCOUNTS_FILE it returns c.Accounts unchanged: the one account
// comes from the process environment, which a running process cannot see
// change, so a change there needs a restart.
func (c *Config) ReloadAccounts(getenv func(string) string) ([]Account, error) {
	if c.AccountsFile == "" {
		return slices.Clone(c.Accounts), nil
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	dotenv := map[string]string{}
	if c.EnvFile != "" {
		m, found, err := readDotenv(c.EnvFile)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("ENV_FILE: %s, read at start-up, no longer exists", c.EnvFile)
		}
		dotenv = m
	}
	l := &loader{lookup: func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return dotenv[k]
	}}
	path := l.str(envAccountsFile, "")
	if path == "" {
		l.fail(envAccountsFile, "is no longer set: going back to the single-account variables needs a restart")
		return nil, l.err()
	}
	accounts, _ := l.accounts(path, c.accountDefaults())
	if err := l.err(); err != nil {
		return nil, err
	}
	return accounts, nil
}

// err joins the problems: VarErrors in the order of Variables(), then the
// accounts file's in line order.
func (l *loader) err() error {
	order := func(e error) int {
		var ve *VarError
		if errors.As(e, &ve) {
			if i := slices.Index(allVars[:], ve.Var); i >= 0 {
				return i
			}
		}
		return len(allVars)
	}
	slices.SortStableFunc(l.errs, func(a, b error) int { return order(a) - order(b) })
	return errors.Join(l.errs...)
}
