package sqldb

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Notify tells every process listening on channel of the database (Listen)
// that payload changed, once the caller's change is committed: the way
// nodes sharing PostgreSQL drop what they cached of it. With SQLite the
// database has one process, whose own hooks already know: Notify does
// nothing. Call it after the commit; PostgreSQL delivers within
// milliseconds to every listener, including the caller's own.
func (db *DB) Notify(ctx context.Context, channel, payload string) error {
	if db.dialect != Postgres {
		return nil
	}
	_, err := db.writer.ExecContext(ctx, `SELECT pg_notify($1, $2)`, channel, payload)
	return err
}

// Listen calls fn with the payload of every Notify on channel, from any
// process, until ctx ends; it returns at once, listening on a connection
// of its own (outside the pool). When that connection is lost, Listen
// reconnects every retry and calls fn with "" once listening again: what
// was notified meanwhile is lost, so "" means "anything may have
// changed". With SQLite it does nothing.
//
// A cache that drops entries on fn is therefore stale at most for
// PostgreSQL's delivery time while the connection holds, and for the
// outage plus retry when it does not.
func (db *DB) Listen(ctx context.Context, channel string, retry time.Duration, fn func(payload string)) {
	if db.dialect != Postgres {
		return
	}
	go db.listen(ctx, channel, retry, fn)
}

func (db *DB) listen(ctx context.Context, channel string, retry time.Duration, fn func(payload string)) {
	for first := true; ctx.Err() == nil; first = false {
		conn, err := pgx.ConnectConfig(ctx, db.pgConfig)
		if err == nil {
			_, err = conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize())
			if err == nil && !first {
				fn("") // notifications sent while not listening are lost
			}
			for err == nil {
				var n *pgconn.Notification
				if n, err = conn.WaitForNotification(ctx); err == nil {
					fn(n.Payload)
				}
			}
			_ = conn.Close(context.WithoutCancel(ctx))
		}
		select {
		case <-ctx.Done():
		case <-time.After(retry):
		}
	}
}
