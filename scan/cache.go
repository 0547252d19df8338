package scan

import (
	"sync"
	"time"
)

// maxCached bounds each cache; when full it starts over.
const maxCached = 10000

// ttlCache is a small bounded map whose entries expire. A reader that
// missed takes a ticket before reading the store and puts with it; any
// invalidation in between voids the ticket, so a value read before a
// write never lands in the cache after that write's invalidation.
type ttlCache[V any] struct {
	mu      sync.Mutex
	ttl     time.Duration
	now     func() time.Time
	m       map[string]ttlEntry[V]
	version uint64
}

type ttlEntry[V any] struct {
	v  V
	at time.Time
}

func newTTLCache[V any](ttl time.Duration, now func() time.Time) *ttlCache[V] {
	return &ttlCache[V]{ttl: ttl, now: now, m: map[string]ttlEntry[V]{}}
}

func (c *ttlCache[V]) get(k string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || c.now().Sub(e.at) > c.ttl {
		var zero V
		return zero, false
	}
	return e.v, true
}

// ticket is taken before reading the store for a value to put.
func (c *ttlCache[V]) ticket() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version
}

func (c *ttlCache[V]) put(k string, v V, ticket uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ticket != c.version {
		return
	}
	if len(c.m) >= maxCached {
		c.m = map[string]ttlEntry[V]{}
	}
	c.m[k] = ttlEntry[V]{v: v, at: c.now()}
}

func (c *ttlCache[V]) invalidate(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
	c.version++
}

// evidenceCache holds what the gate knows per artifact digest.
type evidenceCache = ttlCache[Evidence]

func newEvidenceCache(ttl time.Duration, now func() time.Time) *evidenceCache {
	return newTTLCache[Evidence](ttl, now)
}

// allowlistCache holds allowlists by project ("" for the system's).
type allowlistCache = ttlCache[Allowlist]

func newAllowlistCache(ttl time.Duration, now func() time.Time) *allowlistCache {
	return newTTLCache[Allowlist](ttl, now)
}
