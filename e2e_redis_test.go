package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"wxoa/wechat/wechattest"
)

// redisForE2E starts a redis-server of its own on a free port (a shared
// REDIS_URL would hold other runs' tokens under the same key). Without
// redis-server the test skips locally and fails in CI.
func redisForE2E(t *testing.T) string {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server not on PATH; CI must provide it")
		}
		t.Skip("redis-server not on PATH")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not start", addr)
		}
	}
	return "redis://" + addr + "/0"
}

// Two instances of the binary sharing one Redis are one central control:
// a burst of requests on both costs one upstream fetch, and both serve the
// same token.
func TestE2ETwoInstancesShareRedis(t *testing.T) {
	fake := wechattest.NewServer(t)
	store := redisForE2E(t)
	var servers []*e2eServer
	for i := 0; i < 2; i++ {
		vars := e2eVars(t, fake)
		vars["TOKEN_STORE"] = store
		servers = append(servers, startE2E(t, vars, fake))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]int{}
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body, err := servers[i%2].get("/api/token", "Bearer "+e2eAPIKey)
			var r struct {
				AccessToken string `json:"access_token"`
			}
			if err != nil || code != 200 || json.Unmarshal([]byte(body), &r) != nil {
				t.Errorf("GET /api/token = %d, %v", code, err)
				return
			}
			mu.Lock()
			seen[r.AccessToken]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(seen) != 1 || fake.TokenCalls() != 1 {
		t.Errorf("tokens served %d distinct, upstream calls %d; want 1 and 1", len(seen), fake.TokenCalls())
	}
}
