package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"

	"wxoa/wechat"
)

// replyJSON is what a forward endpoint answers:
//
//	{"type":"text","content":"..."}
//	{"type":"image","media_id":"..."}   (also voice)
//	{"type":"video","media_id":"...","title":"...","description":"..."}
//	{"type":"music","title":"...","music_url":"...","hq_music_url":"...","thumb_media_id":"..."}
//	{"type":"news","articles":[{"title":"...","description":"...","pic_url":"...","url":"..."}]}
//	{"type":"transfer_customer_service"}   {"type":"success"} or an empty body: no reply
type replyJSON struct {
	Type         string `json:"type"`
	Content      string `json:"content"`
	MediaID      string `json:"media_id"`
	Title        string `json:"title"`
	Description  string `json:"description"`
	MusicURL     string `json:"music_url"`
	HQMusicURL   string `json:"hq_music_url"`
	ThumbMediaID string `json:"thumb_media_id"`
	KfAccount    string `json:"kf_account"`
	Articles     []struct {
		Title       string `json:"title"`
		Description string `json:"description"`
		PicURL      string `json:"pic_url"`
		URL         string `json:"url"`
	} `json:"articles"`
}

// DecodeReplyJSON turns a forward endpoint's answer into a reply; nil means
// "success" (no reply).
func DecodeReplyJSON(data []byte) (wechat.Reply, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var r replyJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("forward answer is not a reply object: %w", err)
	}
	switch r.Type {
	case "success", "":
		if r.Type == "" && r.Content != "" {
			return &wechat.TextReply{Content: r.Content}, nil
		}
		return nil, nil
	case "text":
		return &wechat.TextReply{Content: r.Content}, nil
	case "image":
		return &wechat.ImageReply{MediaID: r.MediaID}, nil
	case "voice":
		return &wechat.VoiceReply{MediaID: r.MediaID}, nil
	case "video":
		return &wechat.VideoReply{MediaID: r.MediaID, Title: r.Title, Description: r.Description}, nil
	case "music":
		return &wechat.MusicReply{Title: r.Title, Description: r.Description, MusicURL: r.MusicURL,
			HQMusicURL: r.HQMusicURL, ThumbMediaID: r.ThumbMediaID}, nil
	case "news":
		n := &wechat.NewsReply{}
		for _, a := range r.Articles {
			n.Articles = append(n.Articles, wechat.Article{Title: a.Title, Description: a.Description, PicURL: a.PicURL, URL: a.URL})
		}
		return n, nil
	case "transfer_customer_service":
		return &wechat.TransferCustomerServiceReply{KfAccount: r.KfAccount}, nil
	}
	return nil, fmt.Errorf("forward answer has unknown reply type %q", r.Type)
}
