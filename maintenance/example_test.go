package maintenance_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/maintenance"
	"github.com/berthlabs/berth/schedule"
	"github.com/berthlabs/berth/sqldb"
)

// CleanupParams and CleanupResult are a task's own types, stored as JSON.
type CleanupParams struct {
	OlderThanDays int `json:"older_than_days"`
}

type CleanupResult struct {
	Removed int `json:"removed"`
}

func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "berth-maintenance-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqldb.OpenSQLite(ctx, filepath.Join(dir, "berth.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	// The job queue's own pool on the same file (see package jobs).
	pool, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "berth.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	pool.SetMaxOpenConns(1)
	if err := jobs.Migrate(ctx, pool); err != nil {
		log.Fatal(err)
	}
	workers := jobs.NewWorkers()
	runner, err := jobs.New(pool, jobs.WithWorkers(workers), jobs.WithPollInterval(20*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}

	svc, err := maintenance.New(ctx, db, runner, maintenance.Task[CleanupParams, CleanupResult]{
		Name:  "tmp_cleanup",
		Title: "temporary file cleanup",
		Check: func(p CleanupParams) (CleanupParams, error) {
			if p.OlderThanDays < 1 {
				return p, fmt.Errorf("older_than_days %d: want 1 or more: %w", p.OlderThanDays, core.ErrInvalid)
			}
			return p, nil
		},
		Run: func(ctx context.Context, p CleanupParams, log func(format string, args ...any)) (CleanupResult, error) {
			log("removing files older than %d days", p.OlderThanDays)
			return CleanupResult{Removed: 3}, nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := svc.Register(workers); err != nil { // before the runner starts
		log.Fatal(err)
	}
	if err := runner.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer runner.Stop(ctx)
	if err := svc.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer svc.Close()

	run, err := svc.Run(ctx, CleanupParams{OlderThanDays: 7}, maintenance.Manual)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(run.Kind, run.Status)
	for !run.Done() {
		time.Sleep(10 * time.Millisecond)
		if run, err = svc.Get(ctx, run.ID); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println(run.Status, "removed", run.Result.Removed)
	lg, err := svc.Log(ctx, run.ID)
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(lg), "\n") {
		_, msg, _ := strings.Cut(line, " ") // after the time stamp
		fmt.Println(msg)
	}

	_, err = svc.Run(ctx, CleanupParams{}, maintenance.Manual)
	fmt.Println(errors.Is(err, core.ErrInvalid))
	sc, err := svc.SetSchedule(ctx, schedule.Schedule{Type: schedule.Daily}, CleanupParams{OlderThanDays: 30})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("scheduled", sc.Cron)
	// Output:
	// MANUAL Pending
	// Success removed 3
	// run 1 (manual), attempt 1
	// removing files older than 7 days
	// true
	// scheduled 0 0 0 * * *
}
