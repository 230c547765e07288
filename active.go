package main

import (
	"context"
	"fmt"
	"time"

	"wxoa/handlers"
	"wxoa/wechat/jssdk"
	"wxoa/wechat/sdk"
)

// deliverer returns the customer-service sender for late forwarded answers,
// or nil when active calls are off.
func (a *app) deliverer() handlers.Deliverer {
	if a.oa == nil {
		return nil
	}
	return sdk.Deliverer{OA: a.oa}
}

// jssdkService signs page URLs with the managed jsapi_ticket.
type jssdkService struct {
	appID   string
	tickets interface {
		Token(ctx context.Context) (string, error)
	}
	now func() time.Time
}

func (a *app) jssdk() handlers.JSSDKService {
	return &jssdkService{appID: a.cfg.AppID, tickets: a.tickets, now: time.Now}
}

func (s *jssdkService) SignURL(ctx context.Context, pageURL string) (any, error) {
	nonce, err := jssdk.NewNonce()
	if err != nil {
		return nil, err
	}
	// Check the URL before spending a ticket fetch on it.
	if _, err := jssdk.NewConfig(s.appID, "-", pageURL, s.now(), nonce); err != nil {
		return nil, &handlers.BadInputError{Err: err}
	}
	ticket, err := s.tickets.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("jsapi_ticket: %w", err)
	}
	return jssdk.NewConfig(s.appID, ticket, pageURL, s.now(), nonce)
}
