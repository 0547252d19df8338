package registry

import (
	"container/list"
	"sync"
)

// manifestCache keeps recently served manifests in memory so hot pulls skip
// SQL. An entry is keyed by repository and reference and stamped with the
// repository's generation, which every manifest or tag change in that
// repository bumps after its commit; a stamp older than the generation is a
// miss. That is exact within one process, so the cache is only used when
// this process is the database's only writer (embedded SQLite).
type manifestCache struct {
	mu       sync.Mutex
	maxBytes int64
	bytes    int64
	lru      *list.List // of *cacheEntry, most recent first
	entries  map[cacheKey]*list.Element
	gens     map[string]uint64
}

type cacheKey struct{ repo, ref string }

type cacheEntry struct {
	key cacheKey
	gen uint64
	row *manifestRow
}

func newManifestCache(maxBytes int64) *manifestCache {
	return &manifestCache{maxBytes: maxBytes, lru: list.New(),
		entries: map[cacheKey]*list.Element{}, gens: map[string]uint64{}}
}

// generation returns repo's current generation; read it before querying
// the database and pass it to put.
func (c *manifestCache) generation(repo string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gens[repo]
}

func (c *manifestCache) get(repo, ref string) *manifestRow {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[cacheKey{repo, ref}]
	if !ok {
		return nil
	}
	e := el.Value.(*cacheEntry)
	if e.gen != c.gens[repo] {
		c.remove(el)
		return nil
	}
	c.lru.MoveToFront(el)
	return e.row
}

func (c *manifestCache) put(repo, ref string, gen uint64, row *manifestRow) {
	size := int64(len(row.Content)) + 256
	if size > c.maxBytes/8 {
		return // one huge manifest must not flush everything else
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gens[repo] {
		return // changed while we were reading
	}
	k := cacheKey{repo, ref}
	if el, ok := c.entries[k]; ok {
		c.remove(el)
	}
	c.entries[k] = c.lru.PushFront(&cacheEntry{key: k, gen: gen, row: row})
	c.bytes += size
	for c.bytes > c.maxBytes {
		c.remove(c.lru.Back())
	}
}

// invalidate makes every cached entry of repo stale.
func (c *manifestCache) invalidate(repo string) {
	c.mu.Lock()
	c.gens[repo]++
	c.mu.Unlock()
}

func (c *manifestCache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*cacheEntry)
	delete(c.entries, e.key)
	c.bytes -= int64(len(e.row.Content)) + 256
}
