package menu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"wxoa/wechat"
)

// API is the one call this package needs from a WeChat client: the caller
// adds the access_token, sends in as JSON, turns a non-zero errcode into a
// *wechat.APIError and decodes the answer into out.
type API interface {
	Do(ctx context.Context, method, path string, in, out any) error
}

const (
	pathCreate = "/cgi-bin/menu/create"
	pathGet    = "/cgi-bin/menu/get"
	pathDelete = "/cgi-bin/menu/delete"
)

// status is the answer of the calls that return only an errcode. Checking it
// here as well costs nothing and keeps a lenient Do from hiding a failure.
type status struct {
	Code int    `json:"errcode"`
	Msg  string `json:"errmsg"`
}

func (s *status) err(endpoint string) error {
	if s.Code == 0 {
		return nil
	}
	return &wechat.APIError{Code: s.Code, Msg: s.Msg, Endpoint: endpoint}
}

// Push replaces the account's menu. An invalid menu is refused before any
// call, since WeChat would report only its first problem.
// https://developers.weixin.qq.com/doc/offiaccount/Custom_Menus/Creating_Custom-Defined_Menu.html
func Push(ctx context.Context, api API, m *Menu) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("push menu: invalid menu:\n%w", err)
	}
	if api == nil {
		return errors.New("push menu: nil API")
	}
	var st status
	if err := api.Do(ctx, http.MethodPost, pathCreate, m, &st); err != nil {
		return fmt.Errorf("push menu: %w", err)
	}
	if err := st.err(pathCreate); err != nil {
		return fmt.Errorf("push menu: %w", err)
	}
	return nil
}

// Fetch returns the menu as WeChat holds it, raw: the answer also carries
// personalised menus, whose shape this package does not model. An account
// without a menu answers errcode 46003.
// https://developers.weixin.qq.com/doc/offiaccount/Custom_Menus/Querying_Custom_Menus.html
func Fetch(ctx context.Context, api API) (json.RawMessage, error) {
	if api == nil {
		return nil, errors.New("fetch menu: nil API")
	}
	var raw json.RawMessage
	if err := api.Do(ctx, http.MethodGet, pathGet, nil, &raw); err != nil {
		return nil, fmt.Errorf("fetch menu: %w", err)
	}
	if err := wechat.CheckResponse(pathGet, raw); err != nil {
		return nil, fmt.Errorf("fetch menu: %w", err)
	}
	return raw, nil
}

// Delete removes the account's menu, personalised menus included.
// https://developers.weixin.qq.com/doc/offiaccount/Custom_Menus/Deleting_Custom-Defined_Menu.html
func Delete(ctx context.Context, api API) error {
	if api == nil {
		return errors.New("delete menu: nil API")
	}
	var st status
	if err := api.Do(ctx, http.MethodGet, pathDelete, nil, &st); err != nil {
		return fmt.Errorf("delete menu: %w", err)
	}
	if err := st.err(pathDelete); err != nil {
		return fmt.Errorf("delete menu: %w", err)
	}
	return nil
}
