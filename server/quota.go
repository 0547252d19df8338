package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/registry"
)

// quotaCacheTTL bounds how long a changed limit takes to apply: every
// blob and manifest push asks for its project's limit.
const quotaCacheTTL = 2 * time.Second

// projectQuotas gives the registry each project's storage limit from the
// project store (cached briefly) and hands its notices on.
type projectQuotas struct {
	projects *project.Store
	log      *slog.Logger
	mu       sync.Mutex
	limits   map[string]cachedLimit
	// notify hears warnings (85 %) and refusals: webhooks and the audit.
	notify []func(ctx context.Context, n registry.QuotaNotice)
}

type cachedLimit struct {
	limit int64
	at    time.Time
}

func newProjectQuotas(projects *project.Store, log *slog.Logger) *projectQuotas {
	return &projectQuotas{projects: projects, log: log, limits: map[string]cachedLimit{}}
}

// StorageLimit implements registry.Quotas.
func (q *projectQuotas) StorageLimit(ctx context.Context, name string) (int64, error) {
	q.mu.Lock()
	c, ok := q.limits[name]
	q.mu.Unlock()
	if ok && time.Since(c.at) < quotaCacheTTL {
		return c.limit, nil
	}
	limit := project.Unlimited
	p, err := q.projects.Get(ctx, name)
	switch {
	case errors.Is(err, project.ErrNotFound):
		// No project: access control refuses the push anyway.
	case err != nil:
		return 0, err
	case p.Metadata.StorageQuota > 0:
		limit = p.Metadata.StorageQuota
	}
	q.mu.Lock()
	if len(q.limits) > 10000 {
		clear(q.limits)
	}
	q.limits[name] = cachedLimit{limit, time.Now()}
	q.mu.Unlock()
	return limit, nil
}

// forget drops a project's cached limit (it changed, here or on another
// node); "" drops them all.
func (q *projectQuotas) forget(name string) {
	q.mu.Lock()
	if name == "" {
		clear(q.limits)
	} else {
		delete(q.limits, name)
	}
	q.mu.Unlock()
}

// QuotaNotice implements registry.Quotas.
func (q *projectQuotas) QuotaNotice(ctx context.Context, n registry.QuotaNotice) {
	if n.Exceeded {
		q.log.WarnContext(ctx, "quota exceeded: push refused", "project", n.Project, "repository", n.Repository,
			"used", n.Used, "requested", n.Requested, "limit", n.Limit)
	} else {
		q.log.InfoContext(ctx, "quota warning", "project", n.Project, "used", n.Used, "limit", n.Limit)
	}
	for _, f := range q.notify {
		f(ctx, n)
	}
}

// quotaMessage says what a notice is about, in words.
func quotaMessage(n registry.QuotaNotice) string {
	if n.Exceeded {
		return fmt.Sprintf("adding %d bytes to project %s (using %d of %d) was refused: quota exceeded", n.Requested,
			n.Project, n.Used, n.Limit)
	}
	return fmt.Sprintf("project %s uses %d of its %d bytes (%d%%)", n.Project, n.Used, n.Limit, n.Used*100/max(n.Limit, 1))
}
