package token

import (
	"sync"
	"sync/atomic"
	"time"
)

// verifiedCache remembers tokens whose signature checked out, by the raw
// token, until they expire. A client reuses one token for many requests;
// checking an ECDSA signature on each would cost more than the request
// itself. Claims (expiry included) are still checked on every use. Reads
// take no lock: every authenticated registry request passes here.
type verifiedCache struct {
	max   int64
	size  atomic.Int64
	prune sync.Mutex
	m     sync.Map // raw token -> *Claims
}

const verifiedCacheSize = 10000

func newVerifiedCache(max int) *verifiedCache { return &verifiedCache{max: int64(max)} }

func (v *verifiedCache) get(raw string) *Claims {
	if c, ok := v.m.Load(raw); ok {
		return c.(*Claims)
	}
	return nil
}

func (v *verifiedCache) put(raw string, c *Claims, now time.Time) {
	if v.size.Load() >= v.max {
		v.evict(now)
	}
	if _, loaded := v.m.LoadOrStore(raw, c); !loaded {
		v.size.Add(1)
	}
}

// evict drops expired tokens, and if that is not enough, any, until the
// cache is below its bound.
func (v *verifiedCache) evict(now time.Time) {
	v.prune.Lock()
	defer v.prune.Unlock()
	for _, expiredOnly := range []bool{true, false} {
		v.m.Range(func(k, c any) bool {
			if !expiredOnly || now.After(c.(*Claims).ExpiresAt) {
				if _, ok := v.m.LoadAndDelete(k); ok {
					v.size.Add(-1)
				}
			}
			return v.size.Load() >= v.max
		})
		if v.size.Load() < v.max {
			return
		}
	}
}
