package silenceper

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/silenceper/wechat/v2/officialaccount"
	"github.com/silenceper/wechat/v2/officialaccount/message"

	"wxoa/wechat"
)

// Deliverer sends a reply as a customer-service message through the SDK,
// and so with the managed token and the Transport's retry.
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html
type Deliverer struct {
	OA *officialaccount.OfficialAccount
}

// Deliver sends reply to openID. The SDK's Send takes no context; the HTTP
// client's timeout bounds it, and ctx is checked before sending.
func (d Deliverer) Deliver(ctx context.Context, openID string, reply wechat.Reply) error {
	msg, err := CustomerMessage(openID, reply)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Not d.OA.GetCustomerMessageManager(): it builds its manager lazily,
	// unlocked, and late answers are delivered from many goroutines. A
	// manager is a pointer to the account's context; one per call is free.
	return Error("/cgi-bin/message/custom/send", message.NewMessageManager(d.OA.GetContext()).Send(msg))
}

// CustomerMessage converts a passive reply into the SDK's customer-service
// message. wechat.CustomMessage writes the API's JSON, whose keys the SDK's
// struct shares, so the conversion is one Unmarshal and knows no reply
// type.
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html
func CustomerMessage(openID string, reply wechat.Reply) (*message.CustomerMessage, error) {
	b, err := wechat.CustomMessage(openID, reply)
	if err != nil {
		return nil, err
	}
	m := &message.CustomerMessage{}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("customer message: %w", err)
	}
	return m, nil
}
