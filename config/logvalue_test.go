package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestLogValueHidesSecrets(t *testing.T) {
	secrets := []string{"appSecretValue", "callbackTokenValue", "apiKeyValue-0123456789", "redisPassword", "forwardKey", validAESKey}
	c, err := FromMap(map[string]string{
		envAppID:          "wx1",
		envAppSecret:      secrets[0],
		envToken:          secrets[1],
		envTokenAPIKey:    secrets[2],
		envTokenStore:     "redis://u:" + secrets[3] + "@127.0.0.1:6379/1",
		envForwardURL:     "http://127.0.0.1:9000/reply?key=" + secrets[4],
		envEncodingAESKey: secrets[5],
		envTrustedProxies: "10.0.0.1, 10.0.0.0/8",
	})
	if err != nil {
		t.Fatalf("FromMap = %v; want nil", err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", c)
	// %v and %#v are what a careless debug print would use.
	out := buf.String() + fmt.Sprintf("%v %+v %#v", c, c, c)
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("log of Config = %s; want no %q in it", out, s)
		}
	}
	for _, want := range []string{`"app_id":"wx1"`, `"token_store":"redis://u:xxxxx@127.0.0.1:6379/1"`,
		`"forward_url":"http://127.0.0.1:9000/reply"`, `"token_api_key_set":true`, `"listen_addr":":8080"`, `"max_clock_skew":"5m0s"`, "reply_deadline=4.5s",
		`"trusted_proxies":"10.0.0.1,10.0.0.0/8"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log of Config = %s; want %s in it", out, want)
		}
	}
}

func TestLogValueZeroConfig(t *testing.T) {
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "config", &Config{})
	if !strings.Contains(buf.String(), "config.api_base=") {
		t.Errorf("log of zero Config = %q; want an empty api_base", buf.String())
	}
}
