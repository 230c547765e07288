package wechattest

import (
	"encoding/json"
	"strconv"
	"testing"
)

func TestKeepLastBoundsMessages(t *testing.T) {
	var ms []json.RawMessage
	for i := range maxMessages + 5 {
		ms = keepLast(ms, json.RawMessage(strconv.Itoa(i)))
	}
	if len(ms) != maxMessages || string(ms[0]) != "5" || string(ms[len(ms)-1]) != strconv.Itoa(maxMessages+4) {
		t.Errorf("kept %d, from %s to %s; want the last %d", len(ms), ms[0], ms[len(ms)-1], maxMessages)
	}
}
