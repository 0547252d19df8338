package sqldb

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// checkpointEvery is how often the checkpointer folds the write-ahead log
// back into a file database.
const checkpointEvery = time.Second

// checkpointer folds the write-ahead log into the database in the
// background (PASSIVE: it waits for no reader or writer), so a committing
// transaction does not pay for the scattered page writes a checkpoint
// makes; SQLite's own checkpoint at 100,000 log pages stays as a backstop.
type checkpointer struct {
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

func startCheckpointer(pool *sql.DB) *checkpointer {
	c := &checkpointer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			// Errors are not worth a log line: the next tick, or SQLite's
			// backstop, checkpoints instead.
			_, _ = pool.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
			cancel()
		}
	}()
	return c
}

// close stops the checkpointer and waits for it; closing again does
// nothing.
func (c *checkpointer) close() {
	if c == nil {
		return
	}
	c.once.Do(func() { close(c.stop) })
	<-c.done
}
