package token

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestVerifiedCacheIsBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	v := newVerifiedCache(10)
	for i := range 25 {
		exp := now.Add(time.Minute)
		if i%2 == 0 {
			exp = now.Add(-time.Second) // already expired: evicted first
		}
		v.put("tok"+strconv.Itoa(i), &Claims{ExpiresAt: exp}, now)
	}
	assert.LessOrEqual(t, v.size.Load(), int64(10))
	n := 0
	v.m.Range(func(any, any) bool { n++; return true })
	assert.Equal(t, int(v.size.Load()), n, "the count matches the map")
	assert.NotNil(t, v.get("tok24"), "the newest entry is there")
}
