package harbor_test

import (
	"context"
	"sync"

	"github.com/berthlabs/berth/scan"
)

// scanGate holds the test server's scans of the repositories it is told
// to hold until they are released (or their job is cancelled), so that
// stopScanArtifact and stopScanAll meet work in progress rather than
// work that has ended.
type scanGate struct {
	mu      sync.Mutex
	held    map[string]chan struct{} // repository (project/repo): closed on release
	waiting map[string]int           // scans waiting at the gate, by repository
}

func newScanGate() *scanGate {
	return &scanGate{held: map[string]chan struct{}{}, waiting: map[string]int{}}
}

// check is the static scanner's Check: it waits while req's repository
// is held.
func (g *scanGate) check(ctx context.Context, req scan.Request) error {
	g.mu.Lock()
	repo := req.Artifact.Repository
	ch, ok := g.held[repo]
	if ok {
		g.waiting[repo]++
	}
	g.mu.Unlock()
	if !ok {
		return nil
	}
	defer func() {
		g.mu.Lock()
		g.waiting[repo]--
		g.mu.Unlock()
	}()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hold makes scans of repository wait until release is called.
func (g *scanGate) hold(repository string) (release func()) {
	ch := make(chan struct{})
	g.mu.Lock()
	g.held[repository] = ch
	g.mu.Unlock()
	return sync.OnceFunc(func() {
		g.mu.Lock()
		delete(g.held, repository)
		g.mu.Unlock()
		close(ch)
	})
}

// waitingScans is how many scans of repository wait at the gate now.
func (g *scanGate) waitingScans(repository string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waiting[repository]
}
