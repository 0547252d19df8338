package auth

import (
	"errors"
	"fmt"
	"time"
)

// LoginThrottle slows down guessing: after Free failed logins from a client
// address (IPv4 address, IPv6 /64) or for a user name, each further attempt
// must wait Base, then twice as long after each further failure, up to Max.
// An attempt that comes too early is refused with a *ThrottledError before
// any password is hashed. Throttling never locks anyone out for good: the
// delay is capped, the failure count halves with every Max of quiet, and a
// successful login clears its address and its name. A name is not throttled
// for an address it last logged in from, and a correct password in the
// verified-credential cache is always admitted, so an attacker hammering a
// name slows its real owner down only on a new address and by at most
// Name.Max.
type LoginThrottle struct {
	Address, Name ThrottleLimit
	// Entries bounds each table (addresses, names); the least recently
	// used entries are forgotten beyond it.
	Entries int
}

// ThrottleLimit is the schedule of one kind of key.
type ThrottleLimit struct {
	Free int           // failures before delays begin
	Base time.Duration // the first delay
	Max  time.Duration // the cap, and the quiet time that halves the count
}

// DefaultLoginThrottle: ten free failures per address, five per name, one
// second doubling up to two minutes for an address and to thirty seconds
// for a name (kept short: anyone can fail logins under anyone's name).
func DefaultLoginThrottle() LoginThrottle {
	return LoginThrottle{
		Address: ThrottleLimit{Free: 10, Base: time.Second, Max: 2 * time.Minute},
		Name:    ThrottleLimit{Free: 5, Base: time.Second, Max: 30 * time.Second},
		Entries: 10000,
	}
}

// WithLoginThrottle sets how failed logins are throttled (default
// DefaultLoginThrottle).
func WithLoginThrottle(t LoginThrottle) GatekeeperOption {
	return func(g *Gatekeeper) { g.throttle = newThrottle(t) }
}

// ErrThrottled matches every *ThrottledError (errors.Is).
var ErrThrottled = errors.New("auth: too many failed logins")

// ThrottledError refuses a login without checking it: too many recent
// failures from the client's address or for the user name. HTTP layers
// answer 429 Too Many Requests with Retry-After: Seconds().
type ThrottledError struct {
	Wait time.Duration // until an attempt is admitted again
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("%v; try again in %d s", ErrThrottled, e.Seconds())
}

// Is makes errors.Is(err, ErrThrottled) true.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// RetryAfter is Wait, for layers that match the error by this method
// rather than by type (the token service cannot import this package).
func (e *ThrottledError) RetryAfter() time.Duration { return e.Wait }

// Seconds is Wait as Retry-After says it: whole seconds, rounded up, at
// least 1.
func (e *ThrottledError) Seconds() int {
	return max(int((e.Wait+time.Second-1)/time.Second), 1)
}
