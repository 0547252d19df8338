package auth

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/berthlabs/berth/rbac"
)

func TestCredentialCache(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newCredentialCache(time.Minute, 3)
	c.now = func() time.Time { return now }
	alice := rbac.Principal{Kind: rbac.User, Name: "alice"}
	c.put("alice", "pw", alice, time.Time{})
	got, ok := c.get("alice", "pw")
	assert.True(t, ok)
	assert.Equal(t, alice, got)
	_, ok = c.get("alice", "other")
	assert.False(t, ok, "another password is another key")

	// A robot expiring before the TTL is dropped at its expiry.
	c.put("robot$ci", "s", rbac.Principal{Kind: rbac.Robot, Name: "robot$ci"}, now.Add(10*time.Second))
	now = now.Add(11 * time.Second)
	_, ok = c.get("robot$ci", "s")
	assert.False(t, ok)
	_, ok = c.get("alice", "pw")
	assert.True(t, ok)
	now = now.Add(time.Minute)
	_, ok = c.get("alice", "pw")
	assert.False(t, ok, "the TTL bounds every entry")

	for _, u := range []string{"a", "b", "c", "d", "e"} {
		c.put(u, "pw", alice, time.Time{})
	}
	assert.LessOrEqual(t, len(c.entries), 3, "the cache is bounded")
	c.clear()
	assert.Empty(t, c.entries)
}
