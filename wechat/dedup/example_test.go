package dedup_test

import (
	"context"
	"fmt"

	"wxoa/wechat/dedup"
)

// Example shows the callback's side: the first try runs the rule, a retry
// gets the same bytes, and a rule that panics still releases the retries.
func Example() {
	store := dedup.NewMemory(dedup.MemoryConfig{})
	runs := 0
	answer := func(ctx context.Context, key string, rule func() []byte) (reply []byte) {
		claimed, reply, err := store.Claim(ctx, key)
		if err != nil {
			return []byte("success") // pending elsewhere, done without bytes, or the store failed
		}
		if !claimed {
			return reply
		}
		// The reply outlives the request: a retry may still be waiting.
		bg := context.WithoutCancel(ctx)
		defer func() {
			if p := recover(); p != nil {
				store.Abandon(bg, key)
				reply = []byte("success")
			}
		}()
		runs++
		reply = rule()
		store.Done(bg, key, reply)
		return reply
	}
	hello := func() []byte { return []byte("<xml>hello</xml>") }
	ctx := context.Background()
	fmt.Printf("%s\n", answer(ctx, "msg:1", hello))
	fmt.Printf("%s\n", answer(ctx, "msg:1", hello))
	fmt.Printf("%s\n", answer(ctx, "msg:2", func() []byte { panic("rule bug") }))
	fmt.Printf("%s\n", answer(ctx, "msg:2", hello))
	fmt.Println("rule runs:", runs)
	// Output:
	// <xml>hello</xml>
	// <xml>hello</xml>
	// success
	// success
	// rule runs: 2
}
