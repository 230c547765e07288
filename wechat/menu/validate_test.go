package menu

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// problemList flattens Validate's joined error into its lines, so a test can
// compare the whole set of problems and not just that one exists.
func problemList(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []string{err.Error()}
	}
	var out []string
	for _, e := range joined.Unwrap() {
		var ve *ValidationError
		if !errors.As(e, &ve) {
			t.Errorf("problem %v is %T; want *ValidationError", e, e)
		}
		out = append(out, e.Error())
	}
	return out
}

func click(name, key string) Button { return Button{Type: "click", Name: name, Key: key} }

func parent(name string, subs ...Button) Button { return Button{Name: name, SubButtons: subs} }

func menuOf(bs ...Button) *Menu { return &Menu{Buttons: bs} }

func TestValidate(t *testing.T) {
	cjk := func(n int) string { return strings.Repeat("菜", n) } // 3 bytes each
	url1024 := "https://example.com/" + strings.Repeat("a", 1024-len("https://example.com/"))
	sixSubs := parent("更多", click("a", "A"), click("b", "B"), click("c", "C"), click("d", "D"), click("e", "E"), click("f", "F"))
	allTypes := []Button{
		{Type: "click", Name: "n", Key: "K"},
		{Type: "view", Name: "n", URL: "http://example.com/x?y=1"},
		{Type: "scancode_push", Name: "n", Key: "K"},
		{Type: "scancode_waitmsg", Name: "n", Key: "K"},
		{Type: "pic_sysphoto", Name: "n", Key: "K"},
		{Type: "pic_photo_or_album", Name: "n", Key: "K"},
		{Type: "pic_weixin", Name: "n", Key: "K"},
		{Type: "location_select", Name: "n", Key: "K"},
		{Type: "media_id", Name: "n", MediaID: "MEDIA"},
		{Type: "article_id", Name: "n", ArticleID: "ART"},
		{Type: "article_view_limited", Name: "n", ArticleID: "ART"},
		{Type: "miniprogram", Name: "n", URL: "https://example.com/", AppID: "wx123", PagePath: "pages/index"},
	}
	validTypes := "click, view, scancode_push, scancode_waitmsg, pic_sysphoto, pic_photo_or_album, pic_weixin, location_select, media_id, article_id, article_view_limited, miniprogram"

	tests := []struct {
		name string
		menu *Menu
		want []string
	}{
		{"one click button", menuOf(click("帮助", "HELP")), nil},
		{"every type with its fields", menuOf(parent("a", allTypes[:5]...), parent("b", allTypes[5:10]...), parent("c", allTypes[10:]...)), nil},
		{"nil menu", nil, []string{"menu is nil"}},

		// counts
		{"no buttons", menuOf(), []string{"button: no buttons, want 1 to 3"}},
		{"3 buttons", menuOf(click("a", "A"), click("b", "B"), click("c", "C")), nil},
		{"4 buttons", menuOf(click("a", "A"), click("b", "B"), click("c", "C"), click("d", "D")), []string{"button: 4 buttons, at most 3"}},
		{"5 sub-buttons", menuOf(parent("更多", sixSubs.SubButtons[:5]...)), nil},
		{"6 sub-buttons", menuOf(sixSubs), []string{"button[0].sub_button: 6 sub-buttons, at most 5"}},

		// name bytes, counted in UTF-8
		{"top name 5 CJK = 15 bytes", menuOf(click(cjk(5), "K")), nil},
		{"top name 6 CJK = 18 bytes", menuOf(click(cjk(6), "K")), []string{"button[0]: name is 18 bytes, at most 16"}},
		{"top name 16 ASCII", menuOf(click(strings.Repeat("x", 16), "K")), nil},
		{"top name 17 ASCII", menuOf(click(strings.Repeat("x", 17), "K")), []string{"button[0]: name is 17 bytes, at most 16"}},
		{"parent name 6 CJK", menuOf(parent(cjk(6), click("a", "A"))), []string{"button[0]: name is 18 bytes, at most 16"}},
		{"sub name 20 CJK = 60 bytes", menuOf(parent("更多", click(cjk(20), "K"))), nil},
		{"sub name 21 CJK = 63 bytes", menuOf(parent("更多", click(cjk(21), "K"))), []string{"button[0].sub_button[0]: name is 63 bytes, at most 60"}},
		{"name missing", menuOf(click("", "K")), []string{"button[0]: name is missing"}},
		{"name blank", menuOf(parent("更多", click("  ", "K"))), []string{"button[0].sub_button[0]: name is missing"}},

		// key and url lengths
		{"key 128 bytes", menuOf(click("a", strings.Repeat("k", 128))), nil},
		{"key 129 bytes", menuOf(click("a", strings.Repeat("k", 129))), []string{"button[0]: key is 129 bytes, at most 128"}},
		{"url 1024 bytes", menuOf(Button{Type: "view", Name: "a", URL: url1024}), nil},
		{"url 1025 bytes", menuOf(Button{Type: "view", Name: "a", URL: url1024 + "b"}), []string{"button[0]: url is 1025 bytes, at most 1024"}},

		// url shape
		{"view relative url", menuOf(Button{Type: "view", Name: "a", URL: "/path"}), []string{`button[0]: url must be an absolute http or https URL (scheme is "")`}},
		{"view ftp url", menuOf(Button{Type: "view", Name: "a", URL: "ftp://example.com/"}), []string{`button[0]: url must be an absolute http or https URL (scheme is "ftp")`}},
		{"view url without host", menuOf(Button{Type: "view", Name: "a", URL: "https:///x"}), []string{"button[0]: url has no host"}},
		{"view url with control char", menuOf(Button{Type: "view", Name: "a", URL: "https://example.com/\x7f"}), []string{"button[0]: url is not a valid URL: net/url: invalid control character in URL"}},
		{"miniprogram bad fallback url", menuOf(Button{Type: "miniprogram", Name: "a", URL: "example.com", AppID: "wx1", PagePath: "p"}), []string{`button[0]: url must be an absolute http or https URL (scheme is "")`}},

		// required fields per type
		{"click without key", menuOf(Button{Type: "click", Name: "a"}), []string{"button[0]: type click needs key"}},
		{"scancode_push without key", menuOf(Button{Type: "scancode_push", Name: "a"}), []string{"button[0]: type scancode_push needs key"}},
		{"scancode_waitmsg without key", menuOf(Button{Type: "scancode_waitmsg", Name: "a"}), []string{"button[0]: type scancode_waitmsg needs key"}},
		{"pic_sysphoto without key", menuOf(Button{Type: "pic_sysphoto", Name: "a"}), []string{"button[0]: type pic_sysphoto needs key"}},
		{"pic_photo_or_album without key", menuOf(Button{Type: "pic_photo_or_album", Name: "a"}), []string{"button[0]: type pic_photo_or_album needs key"}},
		{"pic_weixin without key", menuOf(Button{Type: "pic_weixin", Name: "a"}), []string{"button[0]: type pic_weixin needs key"}},
		{"location_select without key", menuOf(Button{Type: "location_select", Name: "a"}), []string{"button[0]: type location_select needs key"}},
		{"view without url", menuOf(Button{Type: "view", Name: "a", Key: "K"}), []string{"button[0]: type view needs url"}},
		{"media_id without media_id", menuOf(Button{Type: "media_id", Name: "a"}), []string{"button[0]: type media_id needs media_id"}},
		{"article_id without article_id", menuOf(Button{Type: "article_id", Name: "a"}), []string{"button[0]: type article_id needs article_id"}},
		{"article_view_limited without article_id", menuOf(Button{Type: "article_view_limited", Name: "a", MediaID: "M"}), []string{"button[0]: type article_view_limited needs article_id"}},
		{"miniprogram without anything", menuOf(Button{Type: "miniprogram", Name: "a"}), []string{
			"button[0]: type miniprogram needs url",
			"button[0]: type miniprogram needs appid",
			"button[0]: type miniprogram needs pagepath",
		}},

		// types and structure
		{"unknown type", menuOf(Button{Type: "link", Name: "a", Key: "K"}), []string{`button[0]: unknown type "link"; valid types: ` + validTypes}},
		{"leaf without type", menuOf(Button{Name: "a", Key: "K"}), []string{"button[0]: type is missing (a button without sub_button needs one of: " + validTypes + ")"}},
		{"parent with a type", menuOf(Button{Type: "click", Name: "更多", Key: "K", SubButtons: []Button{click("a", "A")}}), []string{`button[0]: has sub_button, so it takes no type (got "click")`}},
		{"third level", menuOf(parent("更多", Button{Name: "深", SubButtons: []Button{click("a", "A")}})), []string{
			"button[0].sub_button[0]: menus nest two levels deep at most: a sub-button cannot have sub_button",
			"button[0].sub_button[0]: type is missing (a button without sub_button needs one of: " + validTypes + ")",
		}},
		{"path names the sub-button", menuOf(click("a", "A"), parent("更多", click("1", "1"), click("2", "2"), click("3", "3"), click("4", "4"), click(cjk(22), "5"))),
			[]string{"button[1].sub_button[4]: name is 66 bytes, at most 60"}},

		{"several problems at once", menuOf(
			click(cjk(6), ""),
			parent("更多", Button{Type: "view", Name: "官网", URL: "example.com"}, Button{Type: "bogus", Name: ""}),
			Button{Type: "media_id", Name: "图"},
			click("d", "D"),
		), []string{
			"button: 4 buttons, at most 3",
			"button[0]: name is 18 bytes, at most 16",
			"button[0]: type click needs key",
			`button[1].sub_button[0]: url must be an absolute http or https URL (scheme is "")`,
			"button[1].sub_button[1]: name is missing",
			`button[1].sub_button[1]: unknown type "bogus"; valid types: ` + validTypes,
			"button[2]: type media_id needs media_id",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problemList(t, tt.menu.Validate())
			if !slices.Equal(got, tt.want) {
				t.Errorf("Validate() problems =\n  %q\nwant\n  %q", got, tt.want)
			}
		})
	}
}

func TestTypesMatchRequiredFields(t *testing.T) {
	for _, typ := range Types() {
		if fields, ok := requiredFields(typ); !ok || len(fields) == 0 {
			t.Errorf("requiredFields(%q) = %v, %v; want fields, true", typ, fields, ok)
		}
	}
	if _, ok := requiredFields("view_limited"); ok {
		t.Errorf("requiredFields(%q) ok = true; want false (replaced by article_view_limited)", "view_limited")
	}
}

func BenchmarkValidate(b *testing.B) {
	m, _, err := Parse(readTemplate(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
