package wechat

import "fmt"

// ReplyData is a reply in neutral form: every reply type's fields side by
// side, named by Type. It is what a reply looks like outside the passive
// XML: the JSON a forward endpoint answers, a rule's template, the
// customer-service API's body, a reply read back by OpenReply. The JSON
// keys are the forward-endpoint format:
//
//	{"type":"text","content":"..."}
//	{"type":"image","media_id":"..."}   (also voice)
//	{"type":"video","media_id":"...","title":"...","description":"..."}
//	{"type":"music","title":"...","music_url":"...","hq_music_url":"...","thumb_media_id":"..."}
//	{"type":"news","articles":[{"title":"...","description":"...","pic_url":"...","url":"..."}]}
//	{"type":"transfer_customer_service","kf_account":"..."}   {"type":"success"}: no reply
//
// and, as customer-service messages only (see LinkReply):
//
//	{"type":"link","title":"...","description":"...","url":"...","thumb_url":"..."}
//	{"type":"miniprogrampage","title":"...","pagepath":"...","thumb_media_id":"...","appid":"..."}
//
// Convert with Reply and, back, with Reply.Data.
type ReplyData struct {
	Type         string        `json:"type"`
	Content      string        `json:"content,omitempty"`
	MediaID      string        `json:"media_id,omitempty"`
	Title        string        `json:"title,omitempty"`
	Description  string        `json:"description,omitempty"`
	MusicURL     string        `json:"music_url,omitempty"`
	HQMusicURL   string        `json:"hq_music_url,omitempty"`
	ThumbMediaID string        `json:"thumb_media_id,omitempty"`
	KfAccount    string        `json:"kf_account,omitempty"`
	URL          string        `json:"url,omitempty"`
	ThumbURL     string        `json:"thumb_url,omitempty"`
	PagePath     string        `json:"pagepath,omitempty"`
	AppID        string        `json:"appid,omitempty"`
	Articles     []ArticleData `json:"articles,omitempty"`
}

// ArticleData is one news article in neutral form.
type ArticleData struct {
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	PicURL      string `json:"pic_url,omitempty"`
	URL         string `json:"url,omitempty"`
}

// Reply returns the typed reply d describes, nil for "success" or an empty
// Type (no reply). It is the one place that maps a type name to a reply
// type; it checks no fields (MarshalReply does).
func (d ReplyData) Reply() (Reply, error) {
	switch d.Type {
	case "success", "":
		return nil, nil
	case "text":
		return &TextReply{Content: d.Content}, nil
	case "image":
		return &ImageReply{MediaID: d.MediaID}, nil
	case "voice":
		return &VoiceReply{MediaID: d.MediaID}, nil
	case "video":
		return &VideoReply{MediaID: d.MediaID, Title: d.Title, Description: d.Description}, nil
	case "music":
		return &MusicReply{Title: d.Title, Description: d.Description, MusicURL: d.MusicURL,
			HQMusicURL: d.HQMusicURL, ThumbMediaID: d.ThumbMediaID}, nil
	case "news":
		n := &NewsReply{Articles: make([]Article, len(d.Articles))}
		for i, a := range d.Articles {
			n.Articles[i] = Article{Title: a.Title, Description: a.Description, PicURL: a.PicURL, URL: a.URL}
		}
		return n, nil
	case "transfer_customer_service":
		return &TransferCustomerServiceReply{KfAccount: d.KfAccount}, nil
	case "link":
		return &LinkReply{Title: d.Title, Description: d.Description, URL: d.URL, ThumbURL: d.ThumbURL}, nil
	case "miniprogrampage":
		return &MiniProgramPageReply{Title: d.Title, AppID: d.AppID, PagePath: d.PagePath, ThumbMediaID: d.ThumbMediaID}, nil
	}
	return nil, fmt.Errorf("%w: unknown reply type %q", ErrInvalidReply, d.Type)
}

// Field returns the field whose JSON key is key ("content", "media_id",
// ...; not "type" or "articles"), or nil: rules fill a reply by key. It is
// a switch, not a table of functions, so that d can stay on the caller's
// stack on the callback's hot path.
func (d *ReplyData) Field(key string) *string {
	switch key {
	case "content":
		return &d.Content
	case "media_id":
		return &d.MediaID
	case "title":
		return &d.Title
	case "description":
		return &d.Description
	case "music_url":
		return &d.MusicURL
	case "hq_music_url":
		return &d.HQMusicURL
	case "thumb_media_id":
		return &d.ThumbMediaID
	case "kf_account":
		return &d.KfAccount
	case "url":
		return &d.URL
	case "thumb_url":
		return &d.ThumbURL
	case "pagepath":
		return &d.PagePath
	case "appid":
		return &d.AppID
	}
	return nil
}

// Field returns the article field whose JSON key is key, or nil.
func (a *ArticleData) Field(key string) *string {
	switch key {
	case "title":
		return &a.Title
	case "description":
		return &a.Description
	case "pic_url":
		return &a.PicURL
	case "url":
		return &a.URL
	}
	return nil
}

// The three names a reply field goes by.
const (
	formJSON   = iota // the forward-endpoint JSON, the rules, Field
	formXML           // the passive-reply XML element
	formCustom        // the customer-service API's key ("": it has none)
)

// replyFields names each ReplyData string field in the three forms. The
// two tables are the only place the XML and customer-service names are
// written, so the formats cannot drift apart.
var replyFields = [...][3]string{
	{"content", "Content", "content"},
	{"media_id", "MediaId", "media_id"},
	{"title", "Title", "title"},
	{"description", "Description", "description"},
	{"music_url", "MusicUrl", "musicurl"},
	{"hq_music_url", "HQMusicUrl", "hqmusicurl"},
	{"thumb_media_id", "ThumbMediaId", "thumb_media_id"},
	{"kf_account", "KfAccount", ""},
	// No passive reply has these; the XML names are those of the
	// messages a user sends (<Url> of a link, <PagePath> of a card).
	{"url", "Url", "url"},
	{"thumb_url", "ThumbUrl", "thumb_url"},
	{"pagepath", "PagePath", "pagepath"},
	{"appid", "AppId", "appid"},
}

// articleFields is replyFields for ArticleData.
var articleFields = [...][3]string{
	{"title", "Title", "title"},
	{"description", "Description", "description"},
	{"pic_url", "PicUrl", "picurl"},
	{"url", "Url", "url"},
}

// jsonKey returns the JSON key of the field called name in form, or "".
func jsonKey(table [][3]string, form int, name string) string {
	for _, f := range table {
		if name != "" && f[form] == name {
			return f[formJSON]
		}
	}
	return ""
}

// customFields returns the non-empty fields (field gets one by JSON key)
// under their customer-service API names.
func customFields(table [][3]string, field func(key string) *string) map[string]string {
	m := map[string]string{}
	for _, f := range table {
		if v := *field(f[formJSON]); f[formCustom] != "" && v != "" {
			m[f[formCustom]] = v
		}
	}
	return m
}
