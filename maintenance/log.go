package maintenance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/berthlabs/berth/sqldb"
)

// MaxLog bounds a run's stored log, in bytes; the lines past it are
// counted, not kept.
const MaxLog = 1 << 20

// logNote is room kept under MaxLog for the count of lines not kept.
const logNote = 64

// runLog collects a run's lines and appends them to its record every
// second or so, so a run in progress shows how far it got.
type runLog struct {
	db      *sqldb.DB
	id      int64
	now     func() time.Time
	warn    func(msg string, args ...any)
	writeMu sync.Mutex // one append at a time, in order
	mu      sync.Mutex
	pending []string
	size    int // bytes stored and pending
	dropped int
	flushed time.Time
}

// openLog continues the log of run id (a run that runs again keeps its
// log, and the bound).
func (s *Service[P, R]) openLog(ctx context.Context, id int64) (*runLog, error) {
	l := &runLog{db: s.db, id: id, now: s.now, flushed: time.Now(),
		warn: func(msg string, args ...any) { s.log.Warn(s.task.Title+": "+msg, args...) }}
	err := s.db.QueryRow(ctx, `SELECT octet_length(log) FROM maintenance_runs WHERE id = ?`, id).Scan(&l.size)
	return l, err
}

func (l *runLog) add(format string, args ...any) {
	line := l.now().UTC().Format(time.RFC3339) + " " + fmt.Sprintf(format, args...)
	l.mu.Lock()
	if l.size+len(line)+1 > MaxLog-logNote {
		l.dropped++
	} else {
		l.pending = append(l.pending, line)
		l.size += len(line) + 1
	}
	due := time.Since(l.flushed) > time.Second
	l.mu.Unlock()
	if due {
		l.flush(context.Background(), false)
	}
}

// flush appends the pending lines to the run's record; the last flush of
// an attempt also says how many lines were not kept.
func (l *runLog) flush(ctx context.Context, last bool) {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	l.mu.Lock()
	lines := l.pending
	l.pending, l.flushed = nil, time.Now()
	if last && l.dropped > 0 {
		lines = append(lines, fmt.Sprintf("... %d more lines not kept", l.dropped))
	}
	l.mu.Unlock()
	if len(lines) == 0 {
		return
	}
	err := l.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE maintenance_runs SET log = log || ? WHERE id = ?`, strings.Join(lines, "\n")+"\n", l.id)
		return err
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		l.warn("writing a run's log", "run", l.id, "err", err)
	}
}
