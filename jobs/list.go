package jobs

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"
)

// List bounds.
const (
	DefaultListLimit = 100
	MaxListLimit     = 10000
)

// ListFilter selects the jobs List returns; zero fields select
// everything.
type ListFilter struct {
	States []State  // empty: every state
	Kinds  []string // empty: every kind
	IDs    []int64  // empty: every id
	Limit  int      // 0 is DefaultListLimit; at most MaxListLimit
}

// Listed is a job as List returns it.
type Listed struct {
	Status
	// Worker is the ID of the Runner that attempted the job last ("" if
	// none did yet): the same as that Runner's ID.
	Worker string
}

// ID identifies this Runner among those working the database: Listed's
// Worker names it for the jobs it attempted.
func (r *Runner) ID() string { return r.client.ID() }

// List returns the jobs f selects, oldest (lowest id) first, at most
// f.Limit of them. It reads; it changes nothing.
func (r *Runner) List(ctx context.Context, f ListFilter) ([]Listed, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	params := river.NewJobListParams().OrderBy(river.JobListOrderByID, river.SortOrderAsc)
	if len(f.States) > 0 {
		params = params.States(f.States...)
	}
	if len(f.Kinds) > 0 {
		params = params.Kinds(f.Kinds...)
	}
	if len(f.IDs) > 0 {
		params = params.IDs(f.IDs...)
	}
	var out []Listed
	for len(out) < limit {
		res, err := r.client.JobList(ctx, params.First(min(limit-len(out), 1000)))
		if err != nil {
			return nil, fmt.Errorf("jobs: list: %w", err)
		}
		for _, row := range res.Jobs {
			l := Listed{Status: *statusOf(row)}
			if n := len(row.AttemptedBy); n > 0 {
				l.Worker = row.AttemptedBy[n-1]
			}
			out = append(out, l)
		}
		if len(res.Jobs) == 0 || res.LastCursor == nil {
			break
		}
		params = params.After(res.LastCursor)
	}
	return out, nil
}
