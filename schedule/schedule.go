// Package schedule is when periodic work runs, in Harbor's terms: a type
// (None, Hourly, Daily, Weekly, Custom) and a cron expression with an
// optional seconds field first ("0 0 2 * * *"), and a Cron that calls a
// function on it. Garbage collection, scan-all, retention and audit purge
// are scheduled with it.
//
//	s, err := schedule.Schedule{Type: schedule.Daily}.Normalized()
//	c := schedule.NewCron(func(tick time.Time) { enqueueRun(tick) })
//	err = c.Set(s)
//	defer c.Stop()
//
// With several processes on one database each runs its Cron; the fire
// function makes a tick count once (a unique job per tick, for example).
package schedule

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/berthlabs/berth/core"
)

// Schedule types, Harbor's ScheduleObj types.
const (
	None   = "None"
	Hourly = "Hourly"
	Daily  = "Daily"
	Weekly = "Weekly"
	Custom = "Custom"
)

// Schedule is when work runs.
type Schedule struct {
	Type string `json:"type"`
	Cron string `json:"cron,omitempty"`
}

var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// maxCron bounds an expression's length.
const maxCron = 128

// Normalized fills Cron for the fixed types and checks it; errors wrap
// core.ErrInvalid.
func (s Schedule) Normalized() (Schedule, error) {
	switch s.Type {
	case "", None:
		return Schedule{Type: None}, nil
	case Hourly:
		s.Cron = "0 0 * * * *"
	case Daily:
		s.Cron = "0 0 0 * * *"
	case Weekly:
		s.Cron = "0 0 0 * * 0"
	case Custom:
	default:
		return s, fmt.Errorf("schedule type %q: want None, Hourly, Daily, Weekly or Custom: %w", s.Type, core.ErrInvalid)
	}
	s.Cron = strings.TrimSpace(s.Cron)
	if len(s.Cron) > maxCron {
		return s, fmt.Errorf("cron expression longer than %d characters: %w", maxCron, core.ErrInvalid)
	}
	if _, err := parser.Parse(s.Cron); err != nil {
		return s, fmt.Errorf("cron %q: %v: %w", s.Cron, err, core.ErrInvalid)
	}
	return s, nil
}

// Next is the first time after t the schedule fires; zero for None or an
// invalid expression.
func (s Schedule) Next(t time.Time) time.Time {
	n, err := s.Normalized()
	if err != nil || n.Type == None {
		return time.Time{}
	}
	spec, _ := parser.Parse(n.Cron)
	return spec.Next(t)
}

// Cron calls fire on a schedule, in UTC, until Stop. It is safe for
// concurrent use.
type Cron struct {
	fire func(tick time.Time)
	mu   sync.Mutex
	c    *cron.Cron
	cur  Schedule // what c runs
}

// NewCron returns a Cron with no schedule yet.
func NewCron(fire func(tick time.Time)) *Cron { return &Cron{fire: fire} }

// Set replaces the schedule; None stops firing. Setting the schedule it
// already runs changes nothing, so a process may re-read a stored
// schedule as often as it likes (to follow changes other processes made)
// without losing a tick.
func (c *Cron) Set(s Schedule) error {
	s, err := s.Normalized()
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c != nil && s == c.cur {
		return nil
	}
	c.stopLocked()
	c.cur = s
	if s.Type == None {
		return nil
	}
	spec, _ := parser.Parse(s.Cron)
	c.c = cron.New(cron.WithParser(parser), cron.WithLocation(time.UTC))
	c.c.Schedule(spec, cron.FuncJob(func() { c.fire(time.Now().UTC().Truncate(time.Second)) }))
	c.c.Start()
	return nil
}

// Stop stops firing and waits for a fire in progress.
func (c *Cron) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopLocked()
}

func (c *Cron) stopLocked() {
	if c.c != nil {
		<-c.c.Stop().Done()
		c.c = nil
	}
}
