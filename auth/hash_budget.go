package auth

import (
	"container/list"
	"context"
	"sync"
)

// memoryBudget is a FIFO semaphore of KiB: password hashes take their
// memory from it before they run, and a hash whose caller gives up while
// waiting leaves the queue. FIFO so that a big hash is not starved by a
// stream of small ones; priority waiters (a user logging in from where
// they last succeeded) queue ahead of the others, so a flood of guesses
// from elsewhere delays them by one hash at most.
type memoryBudget struct {
	mu      sync.Mutex
	size    int64 // KiB
	used    int64
	waiters list.List // of budgetWaiter
}

type budgetWaiter struct {
	n        int64
	priority bool
	ready    chan struct{} // closed once the memory is taken for the waiter
}

func newMemoryBudget(kib int64) *memoryBudget { return &memoryBudget{size: max(kib, 1)} }

// acquire takes n KiB (the whole budget when n is larger, so that a hash
// bigger than the budget still runs, alone) and returns what to release.
func (b *memoryBudget) acquire(ctx context.Context, n int64, priority bool) (int64, error) {
	n = min(max(n, 1), b.size)
	if err := ctx.Err(); err != nil {
		return 0, err // a client that is gone costs no hash
	}
	b.mu.Lock()
	if b.waiters.Len() == 0 && b.size-b.used >= n {
		b.used += n
		b.mu.Unlock()
		return n, nil
	}
	w := budgetWaiter{n: n, priority: priority, ready: make(chan struct{})}
	elem := b.enqueue(w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return n, nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-w.ready: // granted as the context ended: give it back
		b.used -= n
	default:
		b.waiters.Remove(elem)
	}
	b.grant() // whoever queued behind this waiter may fit now
	return 0, ctx.Err()
}

// enqueue adds w behind the waiters of its rank: after every priority
// waiter when it has priority, last otherwise. b.mu is held.
func (b *memoryBudget) enqueue(w budgetWaiter) *list.Element {
	if w.priority {
		for e := b.waiters.Front(); e != nil; e = e.Next() {
			if !e.Value.(budgetWaiter).priority {
				return b.waiters.InsertBefore(w, e)
			}
		}
	}
	return b.waiters.PushBack(w)
}

// release gives back what acquire took.
func (b *memoryBudget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	b.grant()
	b.mu.Unlock()
}

// grant admits waiters in order while they fit; b.mu is held.
func (b *memoryBudget) grant() {
	for e := b.waiters.Front(); e != nil; e = b.waiters.Front() {
		w := e.Value.(budgetWaiter)
		if b.size-b.used < w.n {
			return
		}
		b.used += w.n
		b.waiters.Remove(e)
		close(w.ready)
	}
}

// state reports the KiB in use and the number of waiters, for tests.
func (b *memoryBudget) state() (used int64, waiting int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used, b.waiters.Len()
}
