package auth

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gatedKey is a keyFunc that counts the calls running at once and holds
// each until release is closed.
type gatedKey struct {
	running, peak atomic.Int32
	calls         atomic.Int32
	release       chan struct{}
}

func (g *gatedKey) key(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	n := g.running.Add(1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	g.calls.Add(1)
	<-g.release
	g.running.Add(-1)
	return make([]byte, keyLen)
}

func budgetHasher(g *gatedKey, memKiB uint32, budgetBytes int64) *hasher {
	p := HashParams{Memory: memKiB, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	return newHasher(storeConfig{hash: p, idKey: g.key, hashBudget: budgetBytes})
}

func TestHasherBoundsConcurrentHashesByMemory(t *testing.T) {
	g := &gatedKey{release: make(chan struct{})}
	// 1 MiB hashes count 2 MiB each: a 5 MiB budget runs two at once.
	h := budgetHasher(g, 1024, 5<<20)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { _ = h.dummy(t.Context(), "guess") })
	}
	require.Eventually(t, func() bool { _, waiting := h.budget.state(); return waiting == 18 }, 5*time.Second, time.Millisecond)
	assert.EqualValues(t, 2, g.running.Load())
	close(g.release)
	wg.Wait()
	assert.EqualValues(t, 2, g.peak.Load(), "never more than the budget allows")
	assert.EqualValues(t, 20, g.calls.Load())
	used, waiting := h.budget.state()
	assert.Zero(t, used)
	assert.Zero(t, waiting)
}

func TestHasherWaiterLeavesWhenItsRequestEnds(t *testing.T) {
	g := &gatedKey{release: make(chan struct{})}
	h := budgetHasher(g, 1024, 2<<20) // one at a time
	var wg sync.WaitGroup
	wg.Go(func() { _ = h.dummy(t.Context(), "first") })
	require.Eventually(t, func() bool { return g.running.Load() == 1 }, 5*time.Second, time.Millisecond)

	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- h.dummy(ctx, "gone") }()
	require.Eventually(t, func() bool { _, w := h.budget.state(); return w == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	err := <-errc
	require.ErrorIs(t, err, context.Canceled, "a client that is gone costs no hash")
	_, waiting := h.budget.state()
	assert.Zero(t, waiting)

	_, err = h.hash(ctx, "x")
	require.ErrorIs(t, err, context.Canceled, "an ended request does not even queue")
	close(g.release)
	wg.Wait()
	assert.EqualValues(t, 1, g.calls.Load())
}

func TestHasherRunsAHashBiggerThanTheBudgetAlone(t *testing.T) {
	g := &gatedKey{release: make(chan struct{})}
	close(g.release)
	h := budgetHasher(g, 64<<10, 1<<20) // 64 MiB hashes, 1 MiB budget
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			enc, err := h.hash(t.Context(), "password")
			assert.NoError(t, err)
			assert.Contains(t, enc, "$argon2id$")
		})
	}
	wg.Wait()
	assert.EqualValues(t, 1, g.peak.Load())
	assert.EqualValues(t, 5, g.calls.Load())
}

func TestHasherVerifiesWithTheStoredHashCost(t *testing.T) {
	old, err := HashPassword("s3cret-password", HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	require.NoError(t, err)
	h := newHasher(newStoreConfig(nil))
	ok, err := h.verify(t.Context(), old, "s3cret-password")
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = h.verify(t.Context(), old, "wrong")
	require.NoError(t, err)
	assert.False(t, ok)
	_, err = h.verify(t.Context(), "$argon2id$garbage", "x")
	assert.ErrorIs(t, err, ErrMalformedHash)
}

func TestHasherPriorityGoesAheadOfTheQueue(t *testing.T) {
	var mu sync.Mutex
	var order []string
	step := make(chan struct{})
	key := func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		mu.Lock()
		order = append(order, string(password))
		mu.Unlock()
		<-step
		return make([]byte, keyLen)
	}
	p := HashParams{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	h := newHasher(storeConfig{hash: p, idKey: key, hashBudget: 2 << 20}) // one at a time
	var wg sync.WaitGroup
	start := func(ctx context.Context, name string, waiting int) {
		wg.Go(func() { _ = h.dummy(ctx, name) })
		require.Eventually(t, func() bool { _, w := h.budget.state(); return w == waiting }, 5*time.Second, time.Millisecond)
	}
	wg.Go(func() { _ = h.dummy(t.Context(), "running") })
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 1 }, 5*time.Second, time.Millisecond)
	start(t.Context(), "guess1", 1)
	start(t.Context(), "guess2", 2)
	start(withHashPriority(t.Context()), "alice", 3)
	start(withHashPriority(t.Context()), "bob", 4)
	for range 5 {
		step <- struct{}{}
	}
	wg.Wait()
	assert.Equal(t, []string{"running", "alice", "bob", "guess1", "guess2"}, order)
}
