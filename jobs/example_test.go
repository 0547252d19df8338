package jobs_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/berthlabs/berth/jobs"
)

// GCArgs are the arguments of a garbage-collection job; they are stored as
// JSON in the job's row.
type GCArgs struct {
	Repository string `json:"repository"`
}

// Kind names the job type; one worker per kind.
func (GCArgs) Kind() string { return "gc" }

// GCWorker works GCArgs jobs.
type GCWorker struct {
	done chan string
}

// Work runs one attempt; an error schedules a retry with backoff.
func (w *GCWorker) Work(ctx context.Context, job *jobs.Job[GCArgs]) error {
	w.done <- job.Args.Repository
	return nil
}

func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "berth-jobs-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// River's own pool on berth's database file: one connection.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "berth.db")+
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	if err := jobs.Migrate(ctx, db); err != nil {
		log.Fatal(err)
	}
	w := &GCWorker{done: make(chan string, 1)}
	r, err := jobs.New(db,
		jobs.WithWorker(w),
		jobs.WithConcurrency(2),
		jobs.WithMaxAttempts(5),
		jobs.WithPollInterval(50*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer r.Stop(ctx)

	id, err := r.Enqueue(ctx, GCArgs{Repository: "library/alpine"}, jobs.UniqueByArgs())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("collected", <-w.done)

	for {
		st, err := r.Status(ctx, id)
		if err != nil {
			log.Fatal(err)
		}
		if st.State == jobs.StateCompleted {
			fmt.Println(st.Kind, st.State, "after", st.Attempt, "attempt")
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Output:
	// collected library/alpine
	// gc completed after 1 attempt
}
