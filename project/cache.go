package project

import "sync"

// cache holds projects (and names known not to be projects) by name, for
// the access check of every request. Writers invalidate after their
// transaction ends; a reader stores what it read only when no invalidation
// happened since it started, so a value read before a commit is never
// cached after it.
type cache struct {
	mu  sync.RWMutex
	gen uint64
	max int
	m   map[string]entry
}

type entry struct {
	p  Project
	ok bool // false: no such project
}

func newCache(max int) *cache { return &cache{max: max, m: make(map[string]entry)} }

// get returns the entry and, on a miss, the generation to pass to put.
func (c *cache) get(name string) (entry, bool, uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.m[name]
	return e, ok, c.gen
}

func (c *cache) put(name string, e entry, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= c.max {
		clear(c.m) // bounded; misses refill it
	}
	c.m[name] = e
}

func (c *cache) invalidate(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, name)
}
