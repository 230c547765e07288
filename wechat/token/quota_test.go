package token

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestQuotaCounterSharedAndWarned(t *testing.T) {
	clk := newFakeClock()
	store := NewMemoryStore()
	var logs logBuf
	f := newFakeFetcher(clk.Now)
	var ms []*Manager
	for range 2 {
		ms = append(ms, mustManager(t, Config{Store: store, Fetcher: f, Now: clk.Now, DailyLimit: 5, Logger: logs.logger()}))
	}
	for i := range 4 {
		if _, err := ms[i%2].ForceRefresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
	}
	day := clk.Now().In(shanghai()).Format(time.DateOnly)
	if n, _ := store.CountFetch(context.Background(), day); n != 5 {
		t.Errorf("CountFetch after 4 fetches by two managers = %d; want 5", n)
	}
	if got := strings.Count(logs.String(), "80% used"); got != 1 {
		t.Errorf("80%% warnings = %d; want 1\n%s", got, logs.String())
	}
	if _, err := ms[0].ForceRefresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "quota reached") {
		t.Errorf("no error logged at 100%% of the quota:\n%s", logs.String())
	}
	assertNoSecrets(t, logs.String(), f.tokens()...)
}

func TestQuotaDayIsBeijingDate(t *testing.T) {
	// 16:30 UTC is 00:30 the next day in Beijing.
	now := time.Date(2026, 3, 1, 16, 30, 0, 0, time.UTC)
	store := NewMemoryStore()
	f := newFakeFetcher(func() time.Time { return now })
	m := mustManager(t, Config{Store: store, Fetcher: f, Now: func() time.Time { return now }})
	if _, err := m.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, _ := store.CountFetch(context.Background(), "2026-03-02"); n != 2 {
		t.Errorf("CountFetch(2026-03-02) = %d; want 2 (one fetch counted on the Beijing date)", n)
	}
}

func TestFileQuotaCounterSharedByStoresOnOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access_token.json")
	a, _ := NewFileStore(path, nil)
	b, _ := NewFileStore(path, nil)
	var wg sync.WaitGroup
	for i := range 20 {
		s := []Store{a, b}[i%2]
		wg.Go(func() {
			if _, err := s.CountFetch(context.Background(), "2026-03-01"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n, _ := a.CountFetch(context.Background(), "2026-03-01"); n != 21 {
		t.Errorf("CountFetch after 20 concurrent increments = %d; want 21", n)
	}
}
