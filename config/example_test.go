package config_test

import (
	"fmt"

	"wxoa/config"
)

func ExampleFromMap() {
	_, err := config.FromMap(map[string]string{
		"WECHAT_MAX_CLOCK_SKEW": "5x",
		"TOKEN_STORE":           "redis://app:hunter2@cache:port/0",
		"TOKEN_API_KEY":         "hunter2",
	})
	fmt.Println(err)
	// Output:
	// WECHAT_TOKEN: required: the Token set in the WeChat admin console, 3-32 letters or digits
	// WECHAT_MAX_CLOCK_SKEW: "5x" is not a duration (e.g. 5m, 30s)
	// TOKEN_STORE: redis URL cannot be parsed as a URL: percent-encode special characters in the password (value not shown)
}
