package menu

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func readTemplate(tb testing.TB) []byte {
	tb.Helper()
	data, err := os.ReadFile("../../templates/menu.json")
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// TestShippedTemplate keeps templates/menu.json publishable and in step with
// the reply rules, which answer the HELP, ABOUT and NEWS click keys.
func TestShippedTemplate(t *testing.T) {
	m, _, err := Parse(readTemplate(t))
	if err != nil {
		t.Fatalf("Parse(templates/menu.json) = %v; want nil", err)
	}
	if err := m.Validate(); err != nil {
		t.Fatalf("Validate(templates/menu.json) = %v; want nil", err)
	}
	if len(m.Buttons) != 3 {
		t.Errorf("template has %d top-level buttons; want 3", len(m.Buttons))
	}
	clickKeys := map[string]bool{}
	types := map[string]bool{}
	subTypes := map[string]bool{}
	for _, top := range m.Buttons {
		types[top.Type] = true
		if top.Type == "click" {
			clickKeys[top.Key] = true
		}
		for _, s := range top.SubButtons {
			subTypes[s.Type] = true
			if s.Type == "click" {
				clickKeys[s.Key] = true
			}
		}
	}
	for _, k := range []string{"HELP", "ABOUT", "NEWS"} {
		if !clickKeys[k] {
			t.Errorf("template has no click button with key %q", k)
		}
	}
	if !types["view"] && !subTypes["view"] {
		t.Errorf("template has no view button")
	}
	for _, typ := range []string{"scancode_push", "pic_weixin", "location_select"} {
		if !subTypes[typ] {
			t.Errorf("template has no %s sub-button", typ)
		}
	}
}

// menu/get's answer pushes back as it came: the default menu, with the
// personalised ones counted (create leaves them alone on WeChat).
func TestParseRoundTripsMenuGet(t *testing.T) {
	in := `{"menu":{"button":[{"type":"view","name":"官网","url":"https://example.com/"}],"menuid":1},"conditionalmenu":[{"button":[],"matchrule":{"sex":"1"},"menuid":2},{"button":[],"matchrule":{},"menuid":3}]}`
	m, conditional, err := Parse([]byte(in))
	if err != nil || conditional != 2 || len(m.Buttons) != 1 || m.Buttons[0].URL != "https://example.com/" {
		t.Fatalf("Parse(menu/get) = %+v, %d, %v; want the one button and 2 personalised menus", m, conditional, err)
	}
	out, _ := json.Marshal(m)
	if strings.Contains(string(out), "menuid") {
		t.Errorf("re-marshalled menu %s carries menuid; create does not take it", out)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string // substring; "" means success
	}{
		{"valid", `{"button":[{"type":"click","name":"帮助","key":"HELP"}]}`, ""},
		{"valid with empty sub_button", `{"button":[{"type":"click","name":"a","key":"K","sub_button":[]}]}`, ""},
		{"unknown top-level field", `{"buttons":[]}`, `unknown field "buttons"`},
		{"unknown button field", `{"button":[{"type":"click","name":"a","keys":"K"}]}`, `unknown field "keys"`},
		{"menu/get output", `{"menu":{"button":[{"type":"click","name":"a","key":"K"}],"menuid":208396938}}`, ""},
		{"menu/get output with personalised menus", `{"menu":{"button":[]},"conditionalmenu":[{"button":[],"matchrule":{"tag_id":"2"},"menuid":2}]}`, ""},
		{"menu/get output, unknown wrapper field", `{"menu":{"button":[]},"extra":1}`, `unknown field "extra"`},
		{"menu/get output, unknown inner field", `{"menu":{"buttons":[]}}`, `unknown field "buttons"`},
		{"bad JSON", `{"button":[`, "parse menu: unexpected EOF"},
		{"not JSON", `button: []`, "parse menu: invalid character"},
		{"wrong field type", `{"button":[{"name":1}]}`, "Button.button.name of type string"},
		{"trailing object", `{"button":[]} {"button":[]}`, "unexpected data after the menu object"},
		{"trailing garbage", `{"button":[]}]`, "unexpected data after the menu object"},
		{"empty", ``, "parse menu: empty input"},
		{"whitespace", " \n", "parse menu: empty input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, err := Parse([]byte(tt.in))
			if tt.wantErr == "" {
				if err != nil || m == nil {
					t.Fatalf("Parse(%q) = %v, %v; want a menu, nil", tt.in, m, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Parse(%q) error = %v; want it to contain %q", tt.in, err, tt.wantErr)
			}
			if m != nil {
				t.Errorf("Parse(%q) menu = %+v; want nil on error", tt.in, m)
			}
		})
	}
}

// TestMarshalOmitsEmpty pins the wire shape: WeChat rejects some empty
// fields, so a click button must not carry "url":"" and friends.
func TestMarshalOmitsEmpty(t *testing.T) {
	m := menuOf(click("帮助", "HELP"), parent("更多", Button{Type: "miniprogram", Name: "小程序", URL: "https://example.com/", AppID: "wx1", PagePath: "pages/index"}))
	got, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"button":[{"type":"click","name":"帮助","key":"HELP"},{"name":"更多","sub_button":[{"type":"miniprogram","name":"小程序","url":"https://example.com/","appid":"wx1","pagepath":"pages/index"}]}]}`
	if string(got) != want {
		t.Errorf("json.Marshal(menu) =\n%s\nwant\n%s", got, want)
	}
}

func TestSummary(t *testing.T) {
	m, _, err := Parse(readTemplate(t))
	if err != nil {
		t.Fatal(err)
	}
	want := `3 buttons
├─ 最新资讯  click NEWS
├─ 工具
│  ├─ 扫一扫  scancode_push SCAN_QR
│  ├─ 发送图片  pic_weixin SEND_PHOTO
│  └─ 发送位置  location_select SEND_LOCATION
└─ 关于
   ├─ 使用帮助  click HELP
   ├─ 关于我们  click ABOUT
   └─ 官方网站  view https://www.example.com/
`
	if got := m.Summary(); got != want {
		t.Errorf("Summary() =\n%s\nwant\n%s", got, want)
	}

	others := []struct {
		name string
		menu *Menu
		want string
	}{
		{"nil", nil, "(no menu)"},
		{"one button, no type, newline in name", menuOf(Button{Name: "a\nb"}), "1 button\n└─ a b  (no type)\n"},
		{"media and mini program", menuOf(
			Button{Type: "media_id", Name: "图", MediaID: "M1"},
			Button{Type: "article_id", Name: "文", ArticleID: "A1"},
			Button{Type: "miniprogram", Name: "小", AppID: "wx1", PagePath: "p/i"},
		), "3 buttons\n├─ 图  media_id M1\n├─ 文  article_id A1\n└─ 小  miniprogram wx1 p/i\n"},
	}
	for _, tt := range others {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.menu.Summary(); got != tt.want {
				t.Errorf("Summary() = %q; want %q", got, tt.want)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	data := readTemplate(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
