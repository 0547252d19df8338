package auth

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testThrottle(c *fakeClock, entries int) *throttle {
	t := newThrottle(LoginThrottle{
		Address: ThrottleLimit{Free: 3, Base: time.Second, Max: 8 * time.Second},
		Name:    ThrottleLimit{Free: 2, Base: time.Second, Max: 4 * time.Second},
		Entries: entries,
	})
	t.now = c.Now
	return t
}

// try admits and ends one attempt, returning the refusal's wait, if any.
func try(t *testing.T, th *throttle, remote, name string, ok bool) time.Duration {
	t.Helper()
	k, err := th.admit(remote, name)
	if err != nil {
		var te *ThrottledError
		require.ErrorAs(t, err, &te)
		require.ErrorIs(t, err, ErrThrottled)
		return te.Wait
	}
	k.end(ok)
	return 0
}

func TestThrottleAddressDelaysDoubleUpToMax(t *testing.T) {
	c := newFakeClock()
	th := testThrottle(c, 100)
	for i := range 3 { // free failures, each under another name
		assert.Zero(t, try(t, th, "10.0.0.1:1000", fmt.Sprint("u", i), false), "failure %d is free", i)
	}
	assert.Equal(t, time.Second, try(t, th, "10.0.0.1:2000", "other", false), "the fourth waits Base")
	assert.Zero(t, try(t, th, "10.0.0.2:1000", "other", false), "another address is not throttled")

	var waits []time.Duration
	for range 5 {
		w := try(t, th, "10.0.0.1:1000", fmt.Sprint("n", len(waits)), false)
		require.Positive(t, w)
		waits = append(waits, w)
		c.Advance(w)
		require.Zero(t, try(t, th, "10.0.0.1:1000", fmt.Sprint("m", len(waits)), false), "admitted once the wait passed")
	}
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}, waits,
		"doubling, capped at Max")
}

// failPromptly fails a login as soon as the throttle admits it.
func failPromptly(t *testing.T, c *fakeClock, th *throttle, remote, name string) {
	t.Helper()
	if w := try(t, th, remote, name, false); w > 0 {
		c.Advance(w)
		require.Zero(t, try(t, th, remote, name, false))
	}
}

func TestThrottleForgetsWithQuietAndSuccess(t *testing.T) {
	c := newFakeClock()
	th := testThrottle(c, 100)
	for i := range 6 {
		failPromptly(t, c, th, "10.0.0.1:1", fmt.Sprint("u", i))
	}
	require.Equal(t, 8*time.Second, try(t, th, "10.0.0.1:1", "x", false), "six failures wait 8 s")
	// Each Max (8 s) of quiet after the wait halves the count: 6 -> 3 -> 1.
	c.Advance(8*time.Second + 16*time.Second)
	for i := range 2 {
		assert.Zero(t, try(t, th, "10.0.0.1:1", fmt.Sprint("y", i), false), "after quiet the count is below Free again")
	}
	assert.Positive(t, try(t, th, "10.0.0.1:1", "y9", false), "and counts again")

	for i := range 5 {
		failPromptly(t, c, th, "10.0.0.3:1", fmt.Sprint("v", i))
	}
	c.Advance(8 * time.Second)
	assert.Zero(t, try(t, th, "10.0.0.3:1", "w", true), "a success after the wait")
	for i := range 3 {
		assert.Zero(t, try(t, th, "10.0.0.3:1", fmt.Sprint("z", i), false), "the success cleared the address: free again")
	}
}

func TestThrottleNameSparesItsLastGoodAddress(t *testing.T) {
	c := newFakeClock()
	th := testThrottle(c, 100)
	require.Zero(t, try(t, th, "192.0.2.7:1", "alice", true), "alice logs in from her usual address")
	for i := range 2 {
		require.Zero(t, try(t, th, fmt.Sprintf("198.51.100.%d:1", i), "alice", false))
	}
	assert.Positive(t, try(t, th, "198.51.100.9:1", "alice", false), "guessing alice's password from elsewhere is throttled")
	assert.Zero(t, try(t, th, "192.0.2.7:5555", "alice", true), "alice herself, from her last good address, is not")
}

func TestThrottleCountsAttemptsInFlight(t *testing.T) {
	c := newFakeClock()
	th := testThrottle(c, 100)
	burst := func(n int) (admitted []*ticket, refused int) {
		for i := range n {
			k, err := th.admit("10.9.9.9:1", fmt.Sprint("u", i, len(admitted)))
			if err != nil {
				refused++
				continue
			}
			admitted = append(admitted, k)
		}
		return admitted, refused
	}
	tickets, refused := burst(20)
	assert.Len(t, tickets, 3*4, "a clean address may have Free×4 checks in flight (users behind one NAT)")
	assert.Equal(t, 8, refused)
	for _, k := range tickets {
		k.cancel()
	}
	assert.Zero(t, try(t, th, "10.9.9.9:1", "v", false), "cancelled attempts count neither way; this one fails")
	tickets, refused = burst(20)
	assert.Len(t, tickets, 2, "with a failure, only Free in all: failures and attempts in flight")
	assert.Equal(t, 18, refused)
}

func TestThrottleTablesAreBounded(t *testing.T) {
	c := newFakeClock()
	th := testThrottle(c, 10)
	for i := range 1000 {
		try(t, th, fmt.Sprintf("10.1.%d.%d:1", i/256, i%256), fmt.Sprint("name", i), false)
	}
	assert.Len(t, th.addrs.entries, 10)
	assert.Equal(t, 10, th.names.lru.Len())
	assert.Len(t, th.names.entries, 10)
}

func TestThrottleOffWithZeroLimits(t *testing.T) {
	th := newThrottle(LoginThrottle{})
	for i := range 50 {
		require.Zero(t, try(t, th, "10.0.0.1:1", "alice", i%7 == 0))
	}
}

func TestAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"10.1.2.3:443":                  "10.1.2.3",
		"10.1.2.3":                      "10.1.2.3",
		"[::ffff:10.1.2.3]:80":          "10.1.2.3",
		"[2001:db8:1:2:aaaa::1]:5000":   "2001:db8:1:2::/64",
		"[2001:db8:1:2:bbbb::9%eth0]:1": "2001:db8:1:2::/64",
		"not an address":                "",
		"":                              "",
	} {
		assert.Equal(t, want, AddressKey(in), in)
	}
}

func TestThrottledErrorSeconds(t *testing.T) {
	for wait, want := range map[time.Duration]int{0: 1, time.Millisecond: 1, time.Second: 1, 1500 * time.Millisecond: 2, time.Minute: 60} {
		e := &ThrottledError{Wait: wait}
		assert.Equal(t, want, e.Seconds(), wait)
		assert.True(t, errors.Is(e, ErrThrottled))
	}
}
