package main

import (
	"encoding/json"
	"sync"
	"testing"

	"wxoa/internal/redistest"
	"wxoa/wechat/wechattest"
)

// Two instances of the binary sharing one Redis are one central control:
// a burst of requests on both costs one upstream fetch, and both serve the
// same token.
func TestE2ETwoInstancesShareRedis(t *testing.T) {
	fake := wechattest.NewServer(t)
	store := redistest.Start(t).URL()
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
