package auth

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/berthlabs/berth/rbac"
)

const (
	credentialTTL       = time.Minute
	credentialCacheSize = 10000
)

// credentialCache remembers recent successful logins by a hash of the
// credentials (never the password itself), for a short time.
type credentialCache struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	now     func() time.Time
	entries map[[32]byte]cachedLogin
}

type cachedLogin struct {
	p       rbac.Principal
	expires time.Time
}

func newCredentialCache(ttl time.Duration, max int) *credentialCache {
	return &credentialCache{ttl: ttl, max: max, now: time.Now, entries: map[[32]byte]cachedLogin{}}
}

func credentialKey(user, pass string) [32]byte {
	h := sha256.New()
	h.Write([]byte(user))
	h.Write([]byte{0})
	h.Write([]byte(pass))
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (c *credentialCache) get(user, pass string) (rbac.Principal, bool) {
	k := credentialKey(user, pass)
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || c.now().After(e.expires) {
		delete(c.entries, k)
		return rbac.Principal{}, false
	}
	return e.p, true
}

// put remembers a login until the TTL passes or, if sooner, until expires
// (a robot's own expiry; zero for none).
func (c *credentialCache) put(user, pass string, p rbac.Principal, expires time.Time) {
	k := credentialKey(user, pass)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		now := c.now()
		for key, e := range c.entries {
			if now.After(e.expires) || len(c.entries) >= c.max {
				delete(c.entries, key)
			}
		}
	}
	until := c.now().Add(c.ttl)
	if !expires.IsZero() && expires.Before(until) {
		until = expires
	}
	c.entries[k] = cachedLogin{p: p, expires: until}
}

func (c *credentialCache) clear() {
	c.mu.Lock()
	clear(c.entries)
	c.mu.Unlock()
}
