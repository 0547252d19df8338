// Package pace spaces transfers so that they average at most a given
// number of bytes a second (replication's and the proxy cache's bandwidth
// limits). One Limiter may be shared by many transfers: they share the
// rate.
//
//	l := pace.New(1 << 20) // 1 MiB/s
//	n, err := body.Read(buf)
//	if err := l.Wait(ctx, n); err != nil { ... } // pays for n bytes
package pace

import (
	"context"
	"sync"
	"time"
)

// Limiter hands out bytes at a fixed rate. It is safe for concurrent use.
type Limiter struct {
	rate float64 // bytes per second

	mu   sync.Mutex
	next time.Time // when the bytes granted so far are paid for
}

// New returns a limiter of bytesPerSecond, which must be positive.
func New(bytesPerSecond float64) *Limiter { return &Limiter{rate: bytesPerSecond} }

// Wait blocks until n more bytes fit the rate, or until ctx ends (its
// error is returned). Bytes not used for a while are not saved up: a
// transfer idle for a minute does not get to burst a minute's worth.
func (l *Limiter) Wait(ctx context.Context, n int) error {
	l.mu.Lock()
	now := time.Now()
	if l.next.Before(now) {
		l.next = now
	}
	l.next = l.next.Add(time.Duration(float64(n) / l.rate * float64(time.Second)))
	d := l.next.Sub(now)
	l.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
