package server

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/berthlabs/berth/sqldb"
)

// Nodes sharing a database tell each other of the changes their caches
// and crons depend on through it (sqldb.DB.Notify): users, robots,
// members and policies (the credential cache and the RBAC policy),
// projects (the cached quota limits, what replication knows exists) and
// schedules (each node's cron). With SQLite one process owns the database
// and its own hooks suffice; announcements go nowhere.
const (
	changesChannel = "berth_changes"
	changeIdentity = "identity"
	changeProject  = "project:"  // + the project's name
	changeSchedule = "schedule:" // + the task's name
	// listenRetry is how soon a node whose listening connection was lost
	// tries again; it then treats everything as changed, so a node is
	// stale at most for an outage plus this.
	listenRetry = time.Second
)

// changes announces this node's changes and dispatches the other nodes'.
type changes struct {
	db  *sqldb.DB
	log *slog.Logger

	mu       sync.Mutex
	handlers []changeHandler
}

type changeHandler struct {
	prefix string
	fn     func(ctx context.Context, key string) // key "": anything may have changed
}

// on calls fn for every change whose payload starts with prefix, with the
// rest of the payload, and with "" after a lost connection.
func (c *changes) on(prefix string, fn func(ctx context.Context, key string)) {
	c.mu.Lock()
	c.handlers = append(c.handlers, changeHandler{prefix, fn})
	c.mu.Unlock()
}

// announce tells the other nodes (and this one, harmlessly) of a change,
// after its commit.
func (c *changes) announce(ctx context.Context, payload string) {
	if err := c.db.Notify(context.WithoutCancel(ctx), changesChannel, payload); err != nil {
		// The change is committed; other nodes see it when their caches
		// expire (a minute for credentials) or on their next reconnect.
		c.log.Warn("could not announce a change to the other nodes", "change", payload, "err", err)
	}
}

// listen dispatches announcements until ctx ends.
func (c *changes) listen(ctx context.Context) {
	c.db.Listen(ctx, changesChannel, listenRetry, func(payload string) {
		c.mu.Lock()
		hs := c.handlers
		c.mu.Unlock()
		for _, h := range hs {
			if key, ok := strings.CutPrefix(payload, h.prefix); ok || payload == "" {
				h.fn(ctx, key)
			}
		}
	})
}

// listenForChanges drops what this node cached of identities and projects
// another node changed.
func (id *identity) listenForChanges(c *changes) {
	c.on(changeIdentity, func(context.Context, string) { id.gk.Invalidate() })
	c.on(changeProject, func(_ context.Context, name string) {
		id.gk.Invalidate() // members and roles belong to projects
		for _, f := range id.projectChanged {
			f(name) // "": every project
		}
	})
}
