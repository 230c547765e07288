package main

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"

	"wxoa/config"
)

// A LISTEN_ADDR another process holds stops serve with an error that
// names LISTEN_ADDR and what to do, not only "address already in use".
func TestServeOnABusyPort(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	addr := held.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	vars := map[string]string{"ENV_FILE": config.NoEnvFile, "WECHAT_TOKEN": "busyport", "TOKEN_STORE": "memory", "LISTEN_ADDR": addr}
	err = run(context.Background(), []string{"wxoa", "serve"}, mapGetenv(vars), nil, io.Discard, io.Discard)
	if err == nil {
		t.Fatalf("serve on %s, which is taken, = nil; want an error", addr)
	}
	for _, want := range []string{
		"LISTEN_ADDR=" + addr + " is in use by another process",
		"set LISTEN_ADDR to a free address, e.g. LISTEN_ADDR=:" + strconv.Itoa(p+1),
		"address already in use",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("serve on a taken port = %q; want %q in it", err, want)
		}
	}
}
