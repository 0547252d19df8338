package token

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedCache remembers tokens whose signature checked out, by a hash of
// the raw token, until they expire. A client reuses one token for many
// requests; checking an ECDSA signature on each would cost more than the
// request itself. Claims (expiry included) are still checked on every use.
type verifiedCache struct {
	mu      sync.Mutex
	max     int
	entries map[[32]byte]*Claims
}

const verifiedCacheSize = 10000

func newVerifiedCache(max int) *verifiedCache {
	return &verifiedCache{max: max, entries: map[[32]byte]*Claims{}}
}

func (v *verifiedCache) get(raw string) *Claims {
	k := sha256.Sum256([]byte(raw))
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.entries[k]
}

func (v *verifiedCache) put(raw string, c *Claims, now time.Time) {
	k := sha256.Sum256([]byte(raw))
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.entries) >= v.max {
		for key, e := range v.entries {
			if now.After(e.ExpiresAt) || len(v.entries) >= v.max {
				delete(v.entries, key)
			}
		}
	}
	v.entries[k] = c
}
