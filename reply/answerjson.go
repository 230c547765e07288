package reply

import (
	"bytes"
	"encoding/json"
	"fmt"

	"wxoa/wechat"
)

// DecodeAnswer turns a forward endpoint's JSON answer, in the format of
// wechat.ReplyData, into a reply; nil means "success" (no reply), as does an
// empty body. {"content":"..."} without a type is a text reply. Unknown
// keys are an error, so a typo does not silently drop a field.
func DecodeAnswer(data []byte) (wechat.Reply, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var d wechat.ReplyData
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("forward answer is not a reply object: %w", err)
	}
	if d.Type == "" && d.Content != "" {
		d.Type = "text"
	}
	r, err := d.Reply()
	if err != nil {
		return nil, fmt.Errorf("forward answer: %w", err)
	}
	return r, nil
}
