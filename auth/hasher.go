package auth

import (
	"context"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// DefaultHashMemoryBudget bounds the memory that a store's concurrent
// password hashes hold: 128 MiB, three hashes of DefaultHashParams at once.
// Hashing is CPU-bound, so more hashes at once than cores buy no
// throughput, only memory.
const DefaultHashMemoryBudget = 128 << 20

// hashGarbageFactor is what a running hash really costs in resident memory,
// as a multiple of its argon2 memory: its buffer is garbage the moment it
// ends, and at GOGC=100 the collector lets the heap grow to twice what it
// last marked live. Measured: 13 concurrent 19 MiB hashes held 510 MiB RSS.
const hashGarbageFactor = 2

// bcryptMemoryKiB is what a bcrypt check holds: its 4 KiB state.
const bcryptMemoryKiB = 4

// hasher runs a store's password hashes within a memory budget, so that
// failed logins, however many arrive at once, cannot exhaust memory.
type hasher struct {
	params HashParams
	idKey  keyFunc
	budget *memoryBudget
}

// WithHashMemoryBudget bounds, in bytes, the memory that the store's
// concurrent password hashes may hold (default DefaultHashMemoryBudget):
// checks beyond it wait their turn, and leave the queue when their request
// ends. Each hash counts twice its argon2 memory, for the garbage it leaves
// the collector; one hash always runs, even one bigger than the budget, so a
// budget below one hash means one hash at a time.
func WithHashMemoryBudget(bytes int64) StoreOption {
	return func(c *storeConfig) { c.hashBudget = max(bytes, 1) }
}

func newHasher(c storeConfig) *hasher {
	h := &hasher{params: c.hash, idKey: c.idKey, budget: newMemoryBudget(DefaultHashMemoryBudget / 1024)}
	if h.idKey == nil {
		h.idKey = argon2.IDKey
	}
	if c.hashBudget > 0 {
		h.budget = newMemoryBudget(c.hashBudget / 1024)
	}
	return h
}

// run calls f once memKiB of argon2 memory is free in the budget.
func (h *hasher) run(ctx context.Context, memKiB uint32, f func()) error {
	n, err := h.budget.acquire(ctx, int64(memKiB)*hashGarbageFactor, hasHashPriority(ctx))
	if err != nil {
		return fmt.Errorf("auth: waiting to check a password: %w", err)
	}
	defer h.budget.release(n)
	f()
	return nil
}

// hash makes a hash of password with the store's parameters.
func (h *hasher) hash(ctx context.Context, password string) (encoded string, err error) {
	rerr := h.run(ctx, h.params.Memory, func() { encoded, err = hashPassword(h.idKey, password, h.params) })
	if rerr != nil {
		return "", rerr
	}
	return encoded, err
}

// verify is VerifyPassword within the budget, sized by the stored hash's
// own parameters (older hashes may cost more than current ones).
func (h *hasher) verify(ctx context.Context, encoded, password string) (ok bool, err error) {
	var mem uint32 = bcryptMemoryKiB
	if !isBcrypt(encoded) {
		p, _, _, perr := parsePHC(encoded)
		if perr != nil {
			return false, perr
		}
		mem = p.Memory
	}
	rerr := h.run(ctx, mem, func() { ok, err = verifyPassword(h.idKey, encoded, password) })
	if rerr != nil {
		return false, rerr
	}
	return ok, err
}

// dummy spends what verifying a current hash costs, so failing on an
// unknown user takes as long as failing on a wrong password.
func (h *hasher) dummy(ctx context.Context, password string) error {
	p := h.params
	salt := make([]byte, p.SaltLen)
	return h.run(ctx, p.Memory, func() { _ = h.idKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen) })
}

type hashPriorityKey struct{}

// withHashPriority marks a login whose password check goes ahead of the
// queue: its user last logged in from the same address.
func withHashPriority(ctx context.Context) context.Context {
	return context.WithValue(ctx, hashPriorityKey{}, true)
}

func hasHashPriority(ctx context.Context) bool {
	v, _ := ctx.Value(hashPriorityKey{}).(bool)
	return v
}
