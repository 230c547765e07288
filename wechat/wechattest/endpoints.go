package wechattest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
)

// readJSON reads a JSON request body, answering 47001 like WeChat (or
// WeCom) when it is not JSON.
func readJSON(w http.ResponseWriter, r *http.Request, wecom bool) (json.RawMessage, bool) {
	if r.Method != http.MethodPost {
		writeErrOn(w, wecom, 43002, "require POST method")
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var buf bytes.Buffer
	if err != nil || json.Compact(&buf, body) != nil {
		writeErrOn(w, wecom, 47001, "data format error")
		return nil, false
	}
	return json.RawMessage(buf.Bytes()), true
}

// handleTicket implements GET /cgi-bin/ticket/getticket?type=jsapi.
// https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/JS-SDK.html
func (s *Server) handleTicket(w http.ResponseWriter, r *http.Request, a *App) {
	if typ := r.URL.Query().Get("type"); typ != "jsapi" && typ != "wx_card" {
		writeErr(w, 40097, "invalid args: type")
		return
	}
	s.mu.Lock()
	t := a.mint(ticket, s.opts.Now())
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"errcode": 0, "errmsg": "ok", "ticket": t, "expires_in": seconds(s.opts.ExpiresIn)})
}

// handleMenuCreate implements POST /cgi-bin/menu/create, storing the app's menu.
// https://developers.weixin.qq.com/doc/offiaccount/Custom_Menus/Creating_Custom-Defined_Menu.html
func (s *Server) handleMenuCreate(w http.ResponseWriter, r *http.Request, a *App) {
	body, ok := readJSON(w, r, false)
	if !ok {
		return
	}
	var m struct {
		Button []json.RawMessage `json:"button"`
	}
	if json.Unmarshal(body, &m) != nil || len(m.Button) == 0 || len(m.Button) > 3 {
		writeErr(w, 40016, "invalid button size")
		return
	}
	s.mu.Lock()
	a.menu = body
	s.mu.Unlock()
	writeErr(w, 0, "ok")
}

// handleMenuGet implements GET /cgi-bin/menu/get.
// https://developers.weixin.qq.com/doc/offiaccount/Custom_Menus/Querying_Custom_Menus.html
func (s *Server) handleMenuGet(w http.ResponseWriter, r *http.Request, a *App) {
	s.mu.Lock()
	menu := a.menu
	s.mu.Unlock()
	if menu == nil {
		writeErr(w, 46003, "menu no exist")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"menu": menu})
}

// handleMenuDelete implements GET /cgi-bin/menu/delete.
// https://developers.weixin.qq.com/doc/offiaccount/Custom_Menus/Deleting_Custom-Defined_Menu.html
func (s *Server) handleMenuDelete(w http.ResponseWriter, r *http.Request, a *App) {
	s.mu.Lock()
	a.menu = nil
	s.mu.Unlock()
	writeErr(w, 0, "ok")
}

// handleCustomSend implements POST /cgi-bin/message/custom/send, recording
// each accepted message for the token's app (and the server).
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html
func (s *Server) handleCustomSend(w http.ResponseWriter, r *http.Request, a *App) {
	body, ok := readJSON(w, r, false)
	if !ok {
		return
	}
	var m struct {
		ToUser  string `json:"touser"`
		MsgType string `json:"msgtype"`
	}
	if json.Unmarshal(body, &m) != nil || m.ToUser == "" {
		writeErr(w, 40003, "invalid openid")
		return
	}
	if m.MsgType == "" {
		writeErr(w, 40008, "invalid message type")
		return
	}
	s.mu.Lock()
	code, rejected := a.reject[m.ToUser]
	if !rejected {
		a.messages = keepLast(a.messages, body)
		s.messages = keepLast(s.messages, body)
	}
	s.mu.Unlock()
	if rejected {
		writeErr(w, code, "wechattest rejected message for this user")
		return
	}
	writeErr(w, 0, "ok")
}

// Sample answers of the server-IP endpoints, in WeChat's mix of addresses
// and ranges, so that callers parsing them meet both.
var (
	apiDomainIPs = []string{"101.89.47.18", "101.91.34.103", "101.226.103.0/25", "109.244.129.223"}
	callbackIPs  = []string{"106.55.206.0/24", "101.226.103.0/25", "175.24.211.24"}
)

// ipList implements GET /cgi-bin/get_api_domain_ip and GET
// /cgi-bin/getcallbackip, on WeChat and on WeCom: an access_token check
// with no side effect, which makes them the cheapest way to ask whether a
// token works. WeCom's answer carries errcode 0 besides the list.
// https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Get_the_WeChat_server_IP_address.html
// https://developer.work.weixin.qq.com/document/path/92520
func ipList(ips []string) func(http.ResponseWriter, *http.Request, *App) {
	return func(w http.ResponseWriter, _ *http.Request, a *App) {
		if a.wecom {
			writeJSON(w, http.StatusOK, map[string]any{"ip_list": ips, "errcode": 0, "errmsg": "ok"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ip_list": ips})
	}
}

// maxMessages bounds the messages the fake keeps per app and in all:
// `wxoa fake` may run for days beside a service that sends them.
const maxMessages = 10000

// keepLast appends m, dropping the oldest past maxMessages.
func keepLast(ms []json.RawMessage, m json.RawMessage) []json.RawMessage {
	if len(ms) >= maxMessages {
		ms = append(ms[:0:0], ms[len(ms)-maxMessages+1:]...)
	}
	return append(ms, m)
}
