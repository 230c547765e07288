package wechat

import (
	"errors"
	"testing"
)

func TestCustomMessage(t *testing.T) {
	tests := []struct {
		name  string
		reply Reply
		want  string
	}{
		{"text", &TextReply{Content: "<Hello> & bye"}, `{"msgtype":"text","text":{"content":"<Hello> & bye"},"touser":"oUser"}`},
		{"image", &ImageReply{MediaID: "M"}, `{"image":{"media_id":"M"},"msgtype":"image","touser":"oUser"}`},
		{"voice", &VoiceReply{MediaID: "M"}, `{"msgtype":"voice","touser":"oUser","voice":{"media_id":"M"}}`},
		{"video", &VideoReply{MediaID: "M", Title: "T", Description: "D"},
			`{"msgtype":"video","touser":"oUser","video":{"description":"D","media_id":"M","title":"T"}}`},
		{"music", &MusicReply{Title: "T", Description: "D", MusicURL: "https://a.example/m.mp3?a=1&b=2", HQMusicURL: "https://a.example/hq.mp3", ThumbMediaID: "TH"},
			`{"msgtype":"music","music":{"description":"D","hqmusicurl":"https://a.example/hq.mp3","musicurl":"https://a.example/m.mp3?a=1&b=2","thumb_media_id":"TH","title":"T"},"touser":"oUser"}`},
		{"news, first article only", &NewsReply{Articles: []Article{{Title: "A", Description: "D", PicURL: "https://a.example/p.jpg", URL: "https://a.example/1"}, {Title: "B", URL: "https://a.example/2"}}},
			`{"msgtype":"news","news":{"articles":[{"description":"D","picurl":"https://a.example/p.jpg","title":"A","url":"https://a.example/1"}]},"touser":"oUser"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CustomMessage("oUser", tt.reply)
			if err != nil || string(got) != tt.want {
				t.Errorf("CustomMessage(%#v) =\n%s, %v\nwant\n%s", tt.reply, got, err, tt.want)
			}
		})
	}
	for _, r := range []Reply{nil, &TransferCustomerServiceReply{KfAccount: "K"}, &NewsReply{}} {
		if got, err := CustomMessage("oUser", r); !errors.Is(err, ErrInvalidReply) {
			t.Errorf("CustomMessage(%#v) = %s, %v; want ErrInvalidReply", r, got, err)
		}
	}
}
