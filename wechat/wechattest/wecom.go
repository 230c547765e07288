package wechattest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// writeErrOn answers an errcode as the host does: WeChat's errmsg carries
// a request id, WeCom's a hint and a link to its errcode tool.
func writeErrOn(w http.ResponseWriter, wecom bool, code int, msg string) {
	if !wecom {
		writeErr(w, code, msg)
		return
	}
	if code != 0 {
		msg += ", hint: [wechattest-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 16) +
			"], more info at https://open.work.weixin.qq.com/devtool/query?e=" + strconv.Itoa(code)
	}
	writeJSON(w, http.StatusOK, map[string]any{"errcode": code, "errmsg": msg})
}

// handleGetToken implements WeCom's GET /cgi-bin/gettoken?corpid=&corpsecret=:
// the application is found by its corp and secret, and the token it holds
// comes back unchanged while it is valid (WeCom: 有效期内重复获取返回相同结果),
// with the lifetime it has left.
// https://developer.work.weixin.qq.com/document/path/91039
func (s *Server) handleGetToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	corpID, secret := q.Get("corpid"), q.Get("corpsecret")
	s.mu.Lock()
	var a *App
	corp := false
	for _, c := range s.apps {
		if c.wecom && c.id == corpID {
			corp = true
			if c.secret == secret {
				a = c
			}
		}
	}
	code, msg := 0, ""
	switch {
	case corpID == "":
		code, msg = 41002, "corpid missing"
	case secret == "":
		code, msg = 41004, "corpsecret missing"
	case !corp:
		code, msg = 40013, "invalid corpid"
	case a == nil:
		code, msg = 40001, "invalid credential" // WeCom: 不合法的secret参数
	}
	f, fail := Failure{}, false
	if a != nil {
		f, fail = a.enter(pathGetToken)
	}
	var tok string
	var left time.Duration
	if !fail && code == 0 {
		now := s.opts.Now()
		if !a.usable(classic, now) {
			a.mint(classic, now)
		}
		tok = a.current[classic]
		left = s.tokens[tok].expiresAt.Sub(now)
	}
	s.mu.Unlock()
	switch {
	case fail:
		s.fail(w, r, f, true)
	case code != 0:
		writeErrOn(w, true, code, msg)
	default:
		writeJSON(w, http.StatusOK, map[string]any{"errcode": 0, "errmsg": "ok", "access_token": tok, "expires_in": seconds(left)})
	}
}

// handleMessageSend implements WeCom's POST /cgi-bin/message/send, recording
// each message accepted. The agentid must be the token's application's.
// https://developer.work.weixin.qq.com/document/path/90236
func (s *Server) handleMessageSend(w http.ResponseWriter, r *http.Request, a *App) {
	body, ok := readJSON(w, r, true)
	if !ok {
		return
	}
	var m struct {
		ToUser  string          `json:"touser"`
		ToParty string          `json:"toparty"`
		ToTag   string          `json:"totag"`
		MsgType string          `json:"msgtype"`
		AgentID json.RawMessage `json:"agentid"`
		Text    *struct {
			Content string `json:"content"`
		} `json:"text"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		writeErrOn(w, true, 40058, "invalid parameter")
		return
	}
	switch {
	case len(m.AgentID) == 0:
		writeErrOn(w, true, 41011, "agentid missing")
		return
	case string(m.AgentID) != a.agentID: // an integer, as WeCom takes it
		writeErrOn(w, true, 40056, "invalid agentid")
		return
	case m.MsgType == "" || len(objectField(body, m.MsgType)) == 0:
		writeErrOn(w, true, 40008, "invalid message type")
		return
	case m.ToUser == "" && m.ToParty == "" && m.ToTag == "":
		writeErrOn(w, true, 40035, "invalid parameter: touser, toparty and totag are empty")
		return
	case m.MsgType == "text" && (m.Text == nil || m.Text.Content == ""):
		writeErrOn(w, true, 44004, "empty content")
		return
	}
	s.mu.Lock()
	code, rejected := 0, false
	n := len(a.messages)
	for _, u := range strings.Split(m.ToUser, "|") {
		if c, ok := a.reject[u]; ok {
			code, rejected = c, true
		}
	}
	if !rejected {
		a.messages = keepLast(a.messages, body)
	}
	s.mu.Unlock()
	if rejected {
		writeErrOn(w, true, code, "wechattest rejected message for this user")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": "wechattest-" + strconv.Itoa(n)})
}

// objectField returns the raw value of body's field key, or nil.
func objectField(body []byte, key string) json.RawMessage {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return nil
	}
	return fields[key]
}
