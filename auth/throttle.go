package auth

import (
	"container/list"
	"net"
	"net/netip"
	"sync"
	"time"
)

// throttle keeps the failure counts behind LoginThrottle: one table of
// client addresses, one of user names, each bounded and least recently
// used first out. Attempts still being checked count as failures until
// they end, so a burst of concurrent guesses is cut off at Free instead of
// all reaching the password hash.
type throttle struct {
	cfg   LoginThrottle
	now   func() time.Time
	mu    sync.Mutex
	addrs throttleTable
	names throttleTable
}

type throttleTable struct {
	lim     ThrottleLimit
	max     int
	entries map[string]*list.Element // of *throttleEntry
	lru     list.List                // front: most recently used
}

type throttleEntry struct {
	key      string
	failures int
	pending  int       // attempts admitted and not yet ended
	last     time.Time // of the last failure
	okAddr   string    // names only: the address of the last success
}

func newThrottle(c LoginThrottle) *throttle {
	if c.Entries <= 0 {
		c.Entries = DefaultLoginThrottle().Entries
	}
	return &throttle{cfg: c, now: time.Now,
		addrs: throttleTable{lim: c.Address, max: c.Entries, entries: map[string]*list.Element{}},
		names: throttleTable{lim: c.Name, max: c.Entries, entries: map[string]*list.Element{}}}
}

// ticket is an admitted attempt; end it with its outcome.
type ticket struct {
	t          *throttle
	addr, name *throttleEntry
	// familiar: the name last logged in from this address, so its
	// password check may go ahead of the queue.
	familiar bool
}

// admit lets an attempt by name from remote (host:port or host) go on, or
// refuses it with a *ThrottledError saying how long to wait.
func (t *throttle) admit(remote, name string) (*ticket, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	addrKey := AddressKey(remote)
	var wait time.Duration
	var ea *throttleEntry
	if addrKey != "" {
		ea = t.addrs.get(addrKey)
		wait = ea.wait(t.addrs.lim, now)
	}
	en := t.names.get(name)
	if addrKey == "" || en.okAddr != addrKey {
		wait = max(wait, en.wait(t.names.lim, now))
	}
	if wait > 0 {
		return nil, &ThrottledError{Wait: wait}
	}
	if ea != nil {
		ea.pending++
	}
	en.pending++
	return &ticket{t: t, addr: ea, name: en, familiar: addrKey != "" && en.okAddr == addrKey}, nil
}

// end records the attempt's outcome: a success clears its address's and
// its name's failures; a failure counts against both.
func (k *ticket) end(ok bool) {
	k.t.mu.Lock()
	defer k.t.mu.Unlock()
	now := k.t.now()
	for _, e := range []*throttleEntry{k.addr, k.name} {
		if e == nil {
			continue
		}
		e.pending = max(e.pending-1, 0)
		if ok {
			e.failures = 0
		} else {
			e.failures++
			e.last = now
		}
	}
	if ok && k.addr != nil {
		k.name.okAddr = k.addr.key
	}
}

// cancel ends an attempt that was never decided (the directory was down,
// the client went away): it counts neither way.
func (k *ticket) cancel() {
	k.t.mu.Lock()
	defer k.t.mu.Unlock()
	for _, e := range []*throttleEntry{k.addr, k.name} {
		if e != nil {
			e.pending = max(e.pending-1, 0)
		}
	}
}

// inFlightFactor bounds the attempts in flight for a key with no recent
// failure: Free times it (many users logging in at once behind one NAT
// address are legitimate; a burst of guesses is cut off).
const inFlightFactor = 4

// wait is how long an attempt must wait under lim: until the delay after
// the last failure has passed; and, while attempts are in flight, as long
// as the next failure would make it when, with the failures there are,
// they would pass Free together, or when more than Free×inFlightFactor
// are in flight at all.
func (e *throttleEntry) wait(lim ThrottleLimit, now time.Time) time.Duration {
	if lim.Base <= 0 {
		return 0 // this kind of key is not throttled
	}
	e.decay(lim, now)
	if w := e.last.Add(lim.delay(e.failures)).Sub(now); w > 0 {
		return w
	}
	if e.pending > 0 && (e.failures > 0 && e.failures+e.pending >= lim.Free || e.pending >= lim.Free*inFlightFactor) {
		return max(lim.delay(max(e.failures+e.pending, lim.Free)), time.Second)
	}
	return 0
}

// decay halves the failure count for every lim.Max of quiet after the
// delay of the last failure ran out, so nobody stays throttled for good.
func (e *throttleEntry) decay(lim ThrottleLimit, now time.Time) {
	if e.failures == 0 || lim.Max <= 0 {
		return
	}
	halvings := now.Sub(e.last.Add(lim.delay(e.failures))) / lim.Max
	if halvings <= 0 {
		return
	}
	e.failures >>= min(halvings, 62)
	// The new count's delay has run out by now, and the next halving needs
	// another Max of quiet.
	e.last = now.Add(-lim.delay(e.failures))
}

// delay is the wait after failures failures: none up to Free, then Base
// doubling with each failure, capped at Max.
func (l ThrottleLimit) delay(failures int) time.Duration {
	if failures < l.Free || l.Base <= 0 {
		return 0
	}
	d := l.Base
	for i := l.Free; i < failures && d < l.Max; i++ {
		d *= 2
	}
	return min(d, l.Max)
}

// get returns key's entry, made if new, as the most recently used.
func (tb *throttleTable) get(key string) *throttleEntry {
	if el, ok := tb.entries[key]; ok {
		tb.lru.MoveToFront(el)
		return el.Value.(*throttleEntry)
	}
	for tb.lru.Len() >= tb.max {
		old := tb.lru.Back()
		tb.lru.Remove(old)
		delete(tb.entries, old.Value.(*throttleEntry).key)
	}
	e := &throttleEntry{key: key}
	tb.entries[key] = tb.lru.PushFront(e)
	return e
}

// AddressKey is the part of a client address that throttling counts by:
// an IPv4 address, or an IPv6 address's /64 (one host usually holds a
// whole /64). remote is host:port or a bare host; "" when unparseable.
func AddressKey(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return ""
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}
