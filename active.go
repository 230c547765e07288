package main

import (
	"wxoa/handlers"
	"wxoa/reply"
	"wxoa/wechat/jssdk"
	"wxoa/wechat/silenceper"
)

// deliverer returns the customer-service sender for late forwarded answers,
// or nil when active calls are off.
func (a *app) deliverer() reply.Deliverer {
	if a.oa == nil {
		return nil
	}
	return silenceper.Deliverer{OA: a.oa}
}

// jssdk signs page URLs with the managed jsapi_ticket.
func (a *app) jssdk() handlers.JSSDKService {
	return &jssdk.Signer{AppID: a.cfg.AppID, Tickets: a.tickets}
}
