package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/sqldb"
)

// nopQueue accepts jobs and runs none.
type nopQueue struct{}

func (nopQueue) Enqueue(context.Context, jobs.Args, ...jobs.EnqueueOption) (int64, error) {
	return 0, nil
}

// postgresService is a Service on a fresh PostgreSQL database whose
// deliveries are logged and never sent.
func postgresService(t *testing.T) *Service {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.OpenPostgres(ctx, PostgresDatabase(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	s, err := NewService(ctx, db, WithSecretKey(bytes.Repeat([]byte{7}, 32)), WithQueue(nopQueue{}))
	require.NoError(t, err)
	return s
}

// together runs fn(i) for i in [0, n) in goroutines released at once.
func together(n int, fn func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

// Concurrent changes of one policy on PostgreSQL: updates that each add a
// target all stick (each writes the row back whole, so before the row
// lock one undid another's), creations of one name leave one policy, and
// of several workers recording the same attempt of a delivery one does.
func TestConcurrentPolicyChangesOnPostgres(t *testing.T) {
	ctx := context.Background()
	s := postgresService(t)
	p, err := s.Create(ctx, Policy{ProjectID: 7, Name: "ci", Enabled: true, EventTypes: []EventType{PushArtifact},
		Targets: []Target{{Address: "https://ci.example/0"}}})
	require.NoError(t, err)

	const n = 6
	errs := make([]error, n)
	together(n, func(i int) {
		_, errs[i] = s.Update(ctx, 7, p.ID, func(p *Policy) error {
			p.Targets = append(p.Targets, Target{Address: fmt.Sprintf("https://ci.example/%d", i+1)})
			return nil
		})
	})
	for _, err := range errs {
		require.NoError(t, err)
	}
	got, err := s.Get(ctx, 7, p.ID)
	require.NoError(t, err)
	assert.Len(t, got.Targets, n+1, "no update lost")

	together(n, func(i int) {
		_, errs[i] = s.Create(ctx, Policy{ProjectID: 7, Name: "same", Enabled: true,
			EventTypes: []EventType{PushArtifact}, Targets: []Target{{Address: "https://ci.example/"}}})
	})
	var exists int
	for _, err := range errs {
		if errors.Is(err, ErrExists) {
			exists++
		}
	}
	assert.Equal(t, n-1, exists, "one is created: %v", errs)
	_, err = s.GetByName(ctx, 7, "same")
	require.NoError(t, err)

	ids, err := s.queueDeliveries(ctx, Event{Type: PushArtifact, ProjectID: 7, OccurAt: time.Unix(1700000000, 0)},
		[]Policy{got}, false)
	require.NoError(t, err)
	recorded := make([]bool, n)
	together(n, func(i int) {
		recorded[i], errs[i] = s.record(ctx, ids[0], 1, StatusPending, 500, "try again", time.Now())
	})
	assert.NoError(t, errors.Join(errs...))
	wins := 0
	for _, r := range recorded {
		if r {
			wins++
		}
	}
	assert.Equal(t, 1, wins, "one worker records attempt 1")
	d, err := s.Delivery(ctx, 7, ids[0])
	require.NoError(t, err)
	assert.Equal(t, 1, d.Attempts)
}
