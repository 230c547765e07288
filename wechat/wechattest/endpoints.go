package wechattest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
)

// readJSON reads a JSON request body, answering 47001 like WeChat when it is
// not JSON.
func readJSON(w http.ResponseWriter, r *http.Request) (json.RawMessage, bool) {
	if r.Method != http.MethodPost {
		writeErr(w, 43002, "require POST method")
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var buf bytes.Buffer
	if err != nil || json.Compact(&buf, body) != nil {
		writeErr(w, 47001, "data format error")
		return nil, false
	}
	return json.RawMessage(buf.Bytes()), true
}

// handleTicket implements GET /cgi-bin/ticket/getticket?type=jsapi.
// https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/JS-SDK.html
func (s *Server) handleTicket(w http.ResponseWriter, r *http.Request) {
	if typ := r.URL.Query().Get("type"); typ != "jsapi" && typ != "wx_card" {
		writeErr(w, 40097, "invalid args: type")
		return
	}
	s.mu.Lock()
	t := s.mint(ticket, s.opts.Now())
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"errcode": 0, "errmsg": "ok", "ticket": t, "expires_in": seconds(s.opts.ExpiresIn)})
}

// Ticket returns the jsapi_ticket minted last, or "".
func (s *Server) Ticket() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current[ticket]
}

// handleMenuCreate implements POST /cgi-bin/menu/create, storing the menu.
// https://developers.weixin.qq.com/doc/offiaccount/Custom_Menus/Creating_Custom-Defined_Menu.html
func (s *Server) handleMenuCreate(w http.ResponseWriter, r *http.Request) {
	body, ok := readJSON(w, r)
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
	s.menu = body
	s.mu.Unlock()
	writeErr(w, 0, "ok")
}

// handleMenuGet implements GET /cgi-bin/menu/get.
// https://developers.weixin.qq.com/doc/offiaccount/Custom_Menus/Querying_Custom_Menus.html
func (s *Server) handleMenuGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	menu := s.menu
	s.mu.Unlock()
	if menu == nil {
		writeErr(w, 46003, "menu no exist")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"menu": menu})
}

// handleMenuDelete implements GET /cgi-bin/menu/delete.
// https://developers.weixin.qq.com/doc/offiaccount/Custom_Menus/Deleting_Custom-Defined_Menu.html
func (s *Server) handleMenuDelete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.menu = nil
	s.mu.Unlock()
	writeErr(w, 0, "ok")
}

// Menu returns the stored menu as created, or nil.
func (s *Server) Menu() json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.menu)
}

// SetMenu stores a menu as if menu/create had been called (nil deletes it).
func (s *Server) SetMenu(menu json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.menu = bytes.Clone(menu)
}

// handleCustomSend implements POST /cgi-bin/message/custom/send, recording
// each accepted message.
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html
func (s *Server) handleCustomSend(w http.ResponseWriter, r *http.Request) {
	body, ok := readJSON(w, r)
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
	code, rejected := s.reject[m.ToUser]
	if !rejected {
		s.messages = append(s.messages, body)
	}
	s.mu.Unlock()
	if rejected {
		writeErr(w, code, "wechattest rejected message for this user")
		return
	}
	writeErr(w, 0, "ok")
}

// CustomMessages returns the customer-service messages accepted so far, as sent.
func (s *Server) CustomMessages() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]json.RawMessage, len(s.messages))
	for i, m := range s.messages {
		out[i] = bytes.Clone(m)
	}
	return out
}

// RejectCustomFor makes custom/send answer code (e.g. 45015, the 48-hour
// window being closed) for messages to openid. Code 0 stops rejecting.
func (s *Server) RejectCustomFor(openid string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		delete(s.reject, openid)
		return
	}
	s.reject[openid] = code
}

// Sample answers of the server-IP endpoints, in WeChat's mix of addresses
// and ranges, so that callers parsing them meet both.
var (
	apiDomainIPs = []string{"101.89.47.18", "101.91.34.103", "101.226.103.0/25", "109.244.129.223"}
	callbackIPs  = []string{"106.55.206.0/24", "101.226.103.0/25", "175.24.211.24"}
)

// ipList implements GET /cgi-bin/get_api_domain_ip and GET
// /cgi-bin/getcallbackip: an access_token check with no side effect, which
// makes them the cheapest way to ask whether a token works.
// https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Get_the_WeChat_server_IP_address.html
func ipList(ips []string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"ip_list": ips})
	}
}
