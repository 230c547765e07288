package wechat

import (
	"fmt"
	"strings"
)

// Each reply type's neutral form (Data, the inverse of ReplyData.Reply)
// and readable form (String, what a user would see, as the simulator
// prints it). Both accept a nil receiver.

// Data returns the reply as ReplyData.
func (r *TextReply) Data() ReplyData {
	if r == nil {
		return ReplyData{Type: "text"}
	}
	return ReplyData{Type: "text", Content: r.Content}
}

// String returns e.g. `text: Hello`.
func (r *TextReply) String() string { return "text: " + r.Data().Content }

// Data returns the reply as ReplyData.
func (r *ImageReply) Data() ReplyData {
	if r == nil {
		return ReplyData{Type: "image"}
	}
	return ReplyData{Type: "image", MediaID: r.MediaID}
}

// String returns e.g. `image: media_id X`.
func (r *ImageReply) String() string { return "image: media_id " + r.Data().MediaID }

// Data returns the reply as ReplyData.
func (r *VoiceReply) Data() ReplyData {
	if r == nil {
		return ReplyData{Type: "voice"}
	}
	return ReplyData{Type: "voice", MediaID: r.MediaID}
}

// String returns e.g. `voice: media_id X`.
func (r *VoiceReply) String() string { return "voice: media_id " + r.Data().MediaID }

// Data returns the reply as ReplyData.
func (r *VideoReply) Data() ReplyData {
	if r == nil {
		return ReplyData{Type: "video"}
	}
	return ReplyData{Type: "video", MediaID: r.MediaID, Title: r.Title, Description: r.Description}
}

// String returns e.g. `video: "Title" media_id X`.
func (r *VideoReply) String() string {
	d := r.Data()
	return fmt.Sprintf("video: %q media_id %s", d.Title, d.MediaID)
}

// Data returns the reply as ReplyData.
func (r *MusicReply) Data() ReplyData {
	if r == nil {
		return ReplyData{Type: "music"}
	}
	return ReplyData{Type: "music", Title: r.Title, Description: r.Description, MusicURL: r.MusicURL,
		HQMusicURL: r.HQMusicURL, ThumbMediaID: r.ThumbMediaID}
}

// String returns e.g. `music: "Title" https://example.com/m.mp3`.
func (r *MusicReply) String() string {
	d := r.Data()
	return fmt.Sprintf("music: %q %s", d.Title, d.MusicURL)
}

// Data returns the reply as ReplyData.
func (r *NewsReply) Data() ReplyData {
	d := ReplyData{Type: "news"}
	if r == nil {
		return d
	}
	d.Articles = make([]ArticleData, len(r.Articles))
	for i, a := range r.Articles {
		d.Articles[i] = ArticleData{Title: a.Title, Description: a.Description, PicURL: a.PicURL, URL: a.URL}
	}
	return d
}

// String returns `news: 1 article: "Title" URL`, or for several articles
// one line each after `news: N articles:`.
func (r *NewsReply) String() string {
	a := r.Data().Articles
	if len(a) == 1 {
		return fmt.Sprintf("news: 1 article: %q %s", a[0].Title, a[0].URL)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "news: %d articles:", len(a))
	for i, art := range a {
		fmt.Fprintf(&b, "\n%d. %q %s", i+1, art.Title, art.URL)
	}
	return b.String()
}

// Data returns the reply as ReplyData.
func (r *TransferCustomerServiceReply) Data() ReplyData {
	if r == nil {
		return ReplyData{Type: "transfer_customer_service"}
	}
	return ReplyData{Type: "transfer_customer_service", KfAccount: r.KfAccount}
}

// String returns `transfer_customer_service: handed to the customer
// service desk`, with ` (agent K)` when a KfAccount is named.
func (r *TransferCustomerServiceReply) String() string {
	s := "transfer_customer_service: handed to the customer service desk"
	if k := r.Data().KfAccount; k != "" {
		s += " (agent " + k + ")"
	}
	return s
}

// Kind implements Reply.
func (*TextReply) Kind() string { return "text" }

// Kind implements Reply.
func (*ImageReply) Kind() string { return "image" }

// Kind implements Reply.
func (*VoiceReply) Kind() string { return "voice" }

// Kind implements Reply.
func (*VideoReply) Kind() string { return "video" }

// Kind implements Reply.
func (*MusicReply) Kind() string { return "music" }

// Kind implements Reply.
func (*NewsReply) Kind() string { return "news" }

// Kind implements Reply.
func (*TransferCustomerServiceReply) Kind() string { return "transfer_customer_service" }
