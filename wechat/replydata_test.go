package wechat

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestReplyDataRoundTrip(t *testing.T) {
	for _, tt := range replyCases {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.reply.Data()
			back, err := d.Reply()
			if err != nil || !reflect.DeepEqual(back, tt.reply) {
				t.Errorf("%#v.Data().Reply() = %#v, %v; want it back", tt.reply, back, err)
			}
			// And through the forward-endpoint JSON.
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			var fromJSON ReplyData
			if err := json.Unmarshal(b, &fromJSON); err != nil || !reflect.DeepEqual(fromJSON, d) {
				t.Errorf("json round trip of %s = %+v, %v; want %+v", b, fromJSON, err, d)
			}
		})
	}
}

func TestReplyDataReply(t *testing.T) {
	for _, typ := range []string{"", "success"} {
		if r, err := (ReplyData{Type: typ, Content: "x"}).Reply(); r != nil || err != nil {
			t.Errorf("ReplyData{Type: %q}.Reply() = %v, %v; want nil, nil (no reply)", typ, r, err)
		}
	}
	if r, err := (ReplyData{Type: "sticker"}).Reply(); r != nil || !errors.Is(err, ErrInvalidReply) || !strings.Contains(err.Error(), `"sticker"`) {
		t.Errorf(`ReplyData{Type: "sticker"}.Reply() = %v, %v; want ErrInvalidReply naming the type`, r, err)
	}
	// The nil receiver gives the type's name, nothing else.
	for _, r := range []Reply{(*TextReply)(nil), (*NewsReply)(nil), (*TransferCustomerServiceReply)(nil)} {
		if d := r.Data(); d.Type == "" || d.Content != "" || d.Articles != nil {
			t.Errorf("(%T)(nil).Data() = %+v; want only the type", r, d)
		}
	}
}

// The JSON tags, Field's switch and the name tables agree: a field added to
// one and not the others fails here.
func TestReplyFieldNames(t *testing.T) {
	check := func(name string, typ reflect.Type, table [][3]string, field func(key string) *string) {
		keys := map[string]bool{}
		for i := range typ.NumField() {
			key, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			if key == "type" || key == "articles" {
				continue
			}
			keys[key] = true
			if field(key) == nil {
				t.Errorf("%s.Field(%q) = nil; want the field tagged %q", name, key, key)
			}
		}
		if len(table) != len(keys) {
			t.Errorf("%s: %d rows in the name table, %d tagged fields", name, len(table), len(keys))
		}
		for _, row := range table {
			if !keys[row[formJSON]] || row[formXML] == "" {
				t.Errorf("%s name table row %q: no such JSON key, or no XML name", name, row)
			}
		}
		if field("type") != nil || field("nope") != nil {
			t.Errorf("%s.Field of a non-string or unknown key is not nil", name)
		}
	}
	var d ReplyData
	var a ArticleData
	check("ReplyData", reflect.TypeFor[ReplyData](), replyFields[:], d.Field)
	check("ArticleData", reflect.TypeFor[ArticleData](), articleFields[:], a.Field)
}

func TestReplyString(t *testing.T) {
	two := &NewsReply{Articles: []Article{{Title: "A", URL: "https://a.example/1"}, {Title: "B \"q\"", URL: "https://a.example/2"}}}
	tests := []struct {
		reply Reply
		want  string
	}{
		{&TextReply{Content: "Hello"}, "text: Hello"},
		{&ImageReply{MediaID: "X"}, "image: media_id X"},
		{&VoiceReply{MediaID: "X"}, "voice: media_id X"},
		{&VideoReply{MediaID: "X", Title: "T"}, `video: "T" media_id X`},
		{&MusicReply{Title: "T", MusicURL: "https://a.example/m.mp3", ThumbMediaID: "th"}, `music: "T" https://a.example/m.mp3`},
		{&NewsReply{Articles: []Article{{Title: "T", URL: "https://a.example/"}}}, `news: 1 article: "T" https://a.example/`},
		{two, "news: 2 articles:\n1. \"A\" https://a.example/1\n2. \"B \\\"q\\\"\" https://a.example/2"},
		{&TransferCustomerServiceReply{}, "transfer_customer_service: handed to the customer service desk"},
		{&TransferCustomerServiceReply{KfAccount: "K"}, "transfer_customer_service: handed to the customer service desk (agent K)"},
	}
	for _, tt := range tests {
		if got := tt.reply.String(); got != tt.want {
			t.Errorf("(%#v).String() = %q; want %q", tt.reply, got, tt.want)
		}
	}
}
