package wechat

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/replies/*.golden")

func articles(n int) []Article {
	a := make([]Article, n)
	for i := range a {
		a[i] = Article{Title: fmt.Sprintf("标题%d", i+1), Description: "描述", PicURL: "https://example.com/p.jpg",
			URL: fmt.Sprintf("https://example.com/a/%d?x=1&y=2", i+1)}
	}
	return a
}

var replyCases = []struct {
	name  string
	reply Reply
}{
	{"text", &TextReply{Content: "你好"}},
	{"text_cdata_end", &TextReply{Content: "a]]>b]]>c <&> ]]"}},
	{"image", &ImageReply{MediaID: "media_id_img"}},
	{"voice", &VoiceReply{MediaID: "media_id_voice"}},
	{"video", &VideoReply{MediaID: "media_id_video", Title: "title", Description: "description"}},
	{"video_media_only", &VideoReply{MediaID: "media_id_video"}},
	{"music", &MusicReply{Title: "TITLE", Description: "DESCRIPTION", MusicURL: "https://example.com/m.mp3",
		HQMusicURL: "https://example.com/hq.mp3", ThumbMediaID: "media_id_thumb"}},
	{"news_1", &NewsReply{Articles: articles(1)}},
	{"news_8", &NewsReply{Articles: articles(8)}},
	{"transfer_customer_service", &TransferCustomerServiceReply{}},
	{"transfer_customer_service_kf", &TransferCustomerServiceReply{KfAccount: "test1@test"}},
}

func TestMarshalReplyGolden(t *testing.T) {
	for _, tt := range replyCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MarshalReply("oUser0001", "gh_123456789abc", 1700000000, tt.reply)
			if err != nil {
				t.Fatalf("MarshalReply(%#v) error: %v", tt.reply, err)
			}
			path := filepath.Join("testdata", "replies", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./wechat -run Golden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("MarshalReply(%#v) =\n%s\nwant\n%s", tt.reply, got, want)
			}
			var doc struct {
				XMLName xml.Name
			}
			if err := xml.Unmarshal(got, &doc); err != nil || doc.XMLName.Local != "xml" {
				t.Errorf("MarshalReply(%#v) is not well-formed XML: %v", tt.reply, err)
			}
		})
	}
}

// TestMarshalReplyRoundTrip reads replies back with encoding/xml: what the
// user sees must be exactly what was sent, "]]>" included.
func TestMarshalReplyRoundTrip(t *testing.T) {
	content := "a]]>b]]]]>c <&> ]]"
	out, err := MarshalReply("o<1>", "gh&1", -5, &TextReply{Content: content})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		ToUserName, FromUserName, MsgType, Content string
		CreateTime                                 int64
	}
	if err := xml.Unmarshal(out, &got); err != nil {
		t.Fatalf("xml.Unmarshal(%s) = %v", out, err)
	}
	if got.Content != content || got.ToUserName != "o<1>" || got.FromUserName != "gh&1" || got.CreateTime != -5 || got.MsgType != "text" {
		t.Errorf("MarshalReply round trip = %+v; want Content %q", got, content)
	}
	m, err := ParseMessage(out)
	if err != nil || m.(*Text).Content != content {
		t.Errorf("ParseMessage(MarshalReply(...)) = %#v, %v; want Content %q", m, err, content)
	}
}

func TestMarshalReplyInvalid(t *testing.T) {
	tests := []struct {
		name     string
		to, from string
		reply    Reply
	}{
		{"nil reply", "o", "gh", nil},
		{"typed nil", "o", "gh", (*TextReply)(nil)},
		{"typed nil news", "o", "gh", (*NewsReply)(nil)},
		{"typed nil transfer", "o", "gh", (*TransferCustomerServiceReply)(nil)},
		{"no toUser", "", "gh", &TextReply{Content: "x"}},
		{"no fromUser", "o", "", &TextReply{Content: "x"}},
		{"empty text", "o", "gh", &TextReply{}},
		{"image without media", "o", "gh", &ImageReply{}},
		{"voice without media", "o", "gh", &VoiceReply{}},
		{"video without media", "o", "gh", &VideoReply{Title: "t"}},
		{"music without thumb", "o", "gh", &MusicReply{MusicURL: "https://example.com/m.mp3"}},
		{"news without articles", "o", "gh", &NewsReply{}},
		{"news with 9 articles", "o", "gh", &NewsReply{Articles: articles(9)}},
		{"article without title", "o", "gh", &NewsReply{Articles: []Article{{URL: "https://example.com"}}}},
		{"article without url", "o", "gh", &NewsReply{Articles: []Article{{Title: "t"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MarshalReply(tt.to, tt.from, 1, tt.reply)
			if !errors.Is(err, ErrInvalidReply) {
				t.Errorf("MarshalReply(%q, %q, %#v) = %q, %v; want ErrInvalidReply", tt.to, tt.from, tt.reply, got, err)
			}
		})
	}
}

func TestAppendReplyKeepsDst(t *testing.T) {
	dst := []byte("prefix")
	got, err := AppendReply(dst, "o", "gh", 1, &TextReply{})
	if err == nil || string(got) != "prefix" {
		t.Errorf("AppendReply(invalid) = %q, %v; want %q and an error", got, err, "prefix")
	}
	got, err = AppendReply(dst, "o", "gh", 1, &TextReply{Content: "x"})
	if err != nil || !bytes.HasPrefix(got, []byte("prefix<xml>")) {
		t.Errorf("AppendReply(valid) = %q, %v; want prefix<xml>...", got, err)
	}
}

func BenchmarkMarshalReply(b *testing.B) {
	r := &TextReply{Content: "hello"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MarshalReply("oUser0001", "gh_123456789abc", 1700000000, r); err != nil {
			b.Fatal(err)
		}
	}
}
