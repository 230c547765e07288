package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	_ "wxoa/internal/soak" // accepts -soak (see package soak)
)

func TestDemo(t *testing.T) {
	// The demo must not read the developer's environment: a getenv that
	// fails the test proves it.
	getenv := func(k string) string {
		t.Errorf("demo read the environment variable %s", k)
		return ""
	}
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"wxoa", "demo"}, getenv, strings.NewReader(""), &out, &errOut)
	if err != nil {
		t.Fatalf("run(demo) = %v; want nil\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	for _, want := range []string{
		"1. Your services get each account's access_token",
		"fetched from WeChat and kept in the store  (WeChat API: token ×1)",
		"miniapp (chosen by appid): its own token, with its own secret, store file and quota  (WeChat API: token ×1)",
		"shop asked again: the same token, from memory  (WeChat API: no call)",
		"(WeChat API: menu/create ×1)",
		"← text: Hello from the demo",
		"conversation: 4 steps passed",
		"← (success: no reply) after",
		"customer-service message",
		"Team here! About “When do you open?”",
		"(WeChat API: message/custom/send ×1)",
		"the team was not asked again, nothing was sent twice  (WeChat API: no call)",
		"← text (customer-service message, with miniapp's token): Hello from the Mini Program",
		"the rule's reply went out once, as the Mini Program, not as the shop  (WeChat API: message/custom/send ×1)",
		"WeChat confirms it rejects the reported token: one new token fetched  (WeChat API: token ×1, get_api_domain_ip ×1)",
		"a report of a token WeChat still accepts: kept, nothing fetched",
		"no fetch  (WeChat API: no call)",
		"✓ Tour complete",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output does not contain %q", want)
		}
	}
	if strings.Contains(out.String(), "✗") || errOut.Len() > 0 {
		t.Errorf("demo reported a problem:\nstdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	}
}

func TestDemoRejectsArguments(t *testing.T) {
	err := run(context.Background(), []string{"wxoa", "demo", "extra"}, func(string) string { return "" }, strings.NewReader(""), io.Discard, io.Discard)
	if err == nil {
		t.Errorf("run(demo extra) = nil; want an error")
	}
}
