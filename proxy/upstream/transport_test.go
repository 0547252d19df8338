package upstream

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTransportCache: concurrent first calls share one handshake, a
// failed handshake is not kept, the least recently used repository is
// dropped past the bound, and a caller who gives up returns at once.
func TestTransportCache(t *testing.T) {
	var handshakes atomic.Int64
	release := make(chan struct{})
	fail := errors.New("upstream down")
	tc := newTransportCache(2, time.Minute, func(_ context.Context, repo string) (http.RoundTripper, error) {
		handshakes.Add(1)
		if repo == "blocked" {
			<-release
		}
		if repo == "down" {
			return nil, fail
		}
		return http.DefaultTransport, nil
	})
	ctx := context.Background()

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := tc.get(ctx, "a"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := handshakes.Load(); n != 1 {
		t.Fatalf("%d handshakes for one repository", n)
	}
	for range 2 {
		if _, err := tc.get(ctx, "down"); !errors.Is(err, fail) {
			t.Fatalf("got %v", err)
		}
	}
	if n := handshakes.Load(); n != 3 {
		t.Fatalf("a failed handshake is retried: %d handshakes, want 3", n)
	}
	for _, repo := range []string{"b", "a", "c"} { // "b" is now the least recent
		if _, err := tc.get(ctx, repo); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := tc.byRepo["b"]; ok || len(tc.byRepo) != 2 || tc.order.Len() != 2 {
		t.Fatalf("kept %v", tc.byRepo)
	}

	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := tc.get(cctx, "blocked"); done <- err }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled caller waited for the handshake")
	}
	close(release)
}
