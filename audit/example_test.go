package audit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/sqldb"
)

func Example() {
	ctx := context.Background()
	db, err := sqldb.OpenSQLiteMemory(ctx)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	store, err := audit.NewStore(ctx, db)
	if err != nil {
		panic(err)
	}

	// Frequent events go through a batching Recorder...
	rec := audit.NewRecorder(store)
	at := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	for i, e := range []audit.Entry{
		{Actor: "alice", Action: audit.ActionPush, ResourceType: audit.ResourceArtifact,
			Resource: "library/nginx:1.25@sha256:4c0f", Project: "library"},
		{Actor: "robot$ci", Action: audit.ActionPull, ResourceType: audit.ResourceArtifact,
			Resource: "library/nginx:1.25@sha256:4c0f", Project: "library"},
		{Action: audit.ActionPull, ResourceType: audit.ResourceArtifact,
			Resource: "team/app@sha256:9e1a", Project: "team"},
	} {
		e.Time = at.Add(time.Duration(i) * time.Minute)
		if err := rec.Record(ctx, e); err != nil {
			panic(err)
		}
	}
	if err := rec.Close(ctx); err != nil { // flushes
		panic(err)
	}
	// ...rare ones can be written directly.
	if err := store.Record(ctx, audit.Entry{Time: at.Add(time.Hour), Actor: "mallory",
		Action: audit.ActionLoginFailure, ResourceType: audit.ResourceSession, Resource: "mallory",
		Result: audit.ResultFailure, Detail: "wrong password"}); err != nil {
		panic(err)
	}

	for _, q := range []string{
		"resource=~library/,op_time=[2024-05-01 00:00:00~2024-05-01 23:59:59]",
		"result=failure",
	} {
		f, err := audit.ParseQuery(q)
		if err != nil {
			panic(err)
		}
		entries, total, err := store.Query(ctx, f, audit.Page{Limit: 10})
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %d\n", q, total)
		for _, e := range entries {
			fmt.Println(" ", e.Time.Format(time.DateTime), e.Actor, e.ActorKind, e.Action, e.Resource, e.Result)
			if e.Detail != "" {
				fmt.Println("    detail:", e.Detail)
			}
		}
	}
	// Output:
	// resource=~library/,op_time=[2024-05-01 00:00:00~2024-05-01 23:59:59]: 2
	//   2024-05-01 09:01:00 robot$ci robot pull library/nginx:1.25@sha256:4c0f success
	//   2024-05-01 09:00:00 alice user push library/nginx:1.25@sha256:4c0f success
	// result=failure: 1
	//   2024-05-01 10:00:00 mallory user login-failure mallory failure
	//     detail: wrong password
}
