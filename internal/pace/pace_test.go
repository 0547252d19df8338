package pace_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/pace"
)

// Two transfers sharing a limiter of 100 KiB/s take about a second for
// 100 KiB between them.
func TestSharedRate(t *testing.T) {
	l := pace.New(100 << 10)
	start := time.Now()
	done := make(chan error, 2)
	for range 2 {
		go func() {
			for range 10 {
				if err := l.Wait(t.Context(), 5<<10); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	require.NoError(t, <-done)
	require.NoError(t, <-done)
	assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "100 KiB at 100 KiB/s")
}

func TestWaitEndsWithTheContext(t *testing.T) {
	l := pace.New(1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	assert.ErrorIs(t, l.Wait(ctx, 1<<20), context.Canceled)
}

func ExampleLimiter() {
	l := pace.New(1 << 30) // 1 GiB/s: a 1 KiB read waits about a microsecond
	err := l.Wait(context.Background(), 1<<10)
	fmt.Println(err)
	// Output: <nil>
}
