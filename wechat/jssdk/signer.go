package jssdk

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrBadURL marks a page URL that cannot be signed: the caller's mistake,
// not the server's.
var ErrBadURL = errors.New("jssdk: bad page url")

// TicketSource hands out the current jsapi_ticket: its token manager.
type TicketSource interface {
	Token(ctx context.Context) (string, error)
}

// Signer signs page URLs for wx.config with the managed jsapi_ticket.
type Signer struct {
	AppID   string
	Tickets TicketSource
	Now     func() time.Time // nil: time.Now
}

// Sign returns the wx.config values for pageURL. A URL that cannot be
// signed is an error matching ErrBadURL, found before a ticket is asked for:
// bad input never costs a ticket fetch.
func (s *Signer) Sign(ctx context.Context, pageURL string) (Config, error) {
	if _, err := checkPageURL(pageURL); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	ticket, err := s.Tickets.Token(ctx)
	if err != nil {
		return Config{}, fmt.Errorf("jsapi_ticket: %w", err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	return NewConfig(s.AppID, ticket, pageURL, now(), "")
}
