package registry

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berthlabs/berth/sqldb"
)

// DefaultPullFlushInterval is how often recorded pull times are written:
// a pull costs a map update, not a write.
const DefaultPullFlushInterval = 10 * time.Second

// maxPendingPulls bounds the pulls kept between flushes; beyond it a
// flush is due at once.
const maxPendingPulls = 10000

// WithPullFlushInterval sets how often pull times are written (default
// DefaultPullFlushInterval).
func WithPullFlushInterval(d time.Duration) Option { return func(r *Registry) { r.pulls.every = d } }

type pullKey struct{ repo, name string } // name: a digest, or a tag

// pullTimes batches the last pull time of artifacts and tags.
type pullTimes struct {
	every     time.Duration
	mu        sync.Mutex
	artifacts map[pullKey]int64
	tags      map[pullKey]int64
	kick      chan struct{}
}

func (p *pullTimes) record(repo, digest, tag string, at time.Time) {
	t := nowUnix(at)
	p.mu.Lock()
	if p.artifacts == nil {
		p.artifacts, p.tags = map[pullKey]int64{}, map[pullKey]int64{}
	}
	p.artifacts[pullKey{repo, digest}] = t
	if tag != "" {
		p.tags[pullKey{repo, tag}] = t
	}
	full := len(p.artifacts)+len(p.tags) >= maxPendingPulls
	p.mu.Unlock()
	if full {
		select {
		case p.kick <- struct{}{}:
		default:
		}
	}
}

func (p *pullTimes) take() (arts, tags map[pullKey]int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	arts, tags = p.artifacts, p.tags
	p.artifacts, p.tags = nil, nil
	return arts, tags
}

// FlushPulls writes the pull times recorded since the last flush. It runs
// on its own every WithPullFlushInterval while the context New got lives,
// and once more when it ends.
func (rg *Registry) FlushPulls(ctx context.Context) error {
	arts, tags := rg.pulls.take()
	if len(arts)+len(tags) == 0 {
		return nil
	}
	// Rows are updated in key order: two processes flushing at once lock
	// them in the same order, so neither waits for the other in a cycle.
	artKeys, tagKeys := sortedPullKeys(arts), sortedPullKeys(tags)
	return rg.db.Write(ctx, func(tx *sqldb.Tx) error {
		for _, k := range artKeys {
			t := arts[k]
			if _, err := tx.Exec(ctx, `UPDATE registry_repo_manifests SET pulled_at = ? WHERE repo = ? AND digest = ? AND pulled_at < ?`,
				t, k.repo, k.name, t); err != nil {
				return err
			}
		}
		for _, k := range tagKeys {
			t := tags[k]
			if _, err := tx.Exec(ctx, `UPDATE registry_tags SET pulled_at = ? WHERE repo = ? AND name = ? AND pulled_at < ?`,
				t, k.repo, k.name, t); err != nil {
				return err
			}
		}
		return nil
	})
}

func sortedPullKeys(m map[pullKey]int64) []pullKey {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b pullKey) int {
		return cmp.Or(strings.Compare(a.repo, b.repo), strings.Compare(a.name, b.name))
	})
	return keys
}

// flushPulls writes pull times until ctx ends.
func (rg *Registry) flushPulls(ctx context.Context) {
	t := time.NewTicker(rg.pulls.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := rg.FlushPulls(context.WithoutCancel(ctx)); err != nil {
				rg.log.Warn("registry: writing pull times", "err", err)
			}
			return
		case <-t.C:
		case <-rg.pulls.kick:
		}
		if err := rg.FlushPulls(ctx); err != nil && ctx.Err() == nil {
			rg.log.Warn("registry: writing pull times", "err", err)
		}
	}
}
