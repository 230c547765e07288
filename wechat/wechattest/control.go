package wechattest

import (
	"net/http"
)

// serveControl serves the endpoints by which a person acts on a running
// fake from outside (Options.Control), as a test calls the methods:
//
//	POST /wechattest/fetch-elsewhere?appid=APPID
//	    another system fetched a token with the app's credentials (App.FetchElsewhere):
//	    an Official Account's or Mini Program's current token stops working at once
//	POST /wechattest/invalidate?appid=APPID   or   ?corpid=CORPID&agentid=AGENTID
//	    every access_token of the app stops working at once (a revoked token)
//
// Without appid or corpid they act on the default app. The answer names the
// app, never a token. They are not API calls: Calls does not count them.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "use POST"})
		return
	}
	q := r.URL.Query()
	a := s.def
	switch {
	case q.Get("corpid") != "":
		a = s.WeComApp(q.Get("corpid"), q.Get("agentid"))
	case q.Get("appid") != "":
		a = s.App(q.Get("appid"))
	}
	if a == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "no such app: give appid, or corpid and agentid, of an app this fake serves"})
		return
	}
	var done string
	switch r.URL.Path {
	case controlPrefix + "fetch-elsewhere":
		a.FetchElsewhere()
		done = "fetched a token elsewhere: the previous one was retired at once"
		if a.wecom {
			done = "fetched a token elsewhere: WeCom hands out the same token while it is valid, so nothing was retired"
		}
	case controlPrefix + "invalidate":
		a.Invalidate()
		done = "invalidated every access_token of the app"
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "no such control endpoint: fetch-elsewhere, invalidate"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"app": a.id, "agent_id": a.agentID, "done": done})
}
