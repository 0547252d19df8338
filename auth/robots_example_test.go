package auth_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
)

// A project admin creates a robot for CI; the secret is shown once. CI
// then logs in with Basic auth as robot$library+ci.
func ExampleRobots() {
	ctx := context.Background()
	db, err := sqldb.OpenSQLiteMemory(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	robots, err := auth.NewRobots(ctx, db,
		auth.WithClock(func() time.Time { return now }),
		auth.WithChangeHook(func(_ context.Context, c auth.Change) {
			fmt.Printf("audit: %s %s by %s\n", c.Kind, c.Name, c.Actor)
		}))
	if err != nil {
		log.Fatal(err)
	}

	expires, _ := auth.RobotExpiry(now, 30) // Harbor's "duration": 30 days
	r, secret, err := robots.Create(registry.WithActor(ctx, "alice"), auth.Robot{
		Name:    "ci",
		Project: "library",
		Permissions: []auth.RobotPermission{
			{Resource: "repository", Action: "pull"},
			{Resource: "repository", Action: "push"},
		},
		ExpiresAt: expires,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Name, r.Level, len(secret), "character secret")

	got, err := robots.Authenticate(ctx, "robot$library+ci", secret)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range got.Permissions {
		fmt.Printf("may %s %s in %s\n", p.Action, p.Resource, p.Project)
	}

	_, err = robots.Authenticate(ctx, "robot$library+ci", "guess")
	fmt.Println(errors.Is(err, auth.ErrInvalidCredentials))

	now = now.AddDate(0, 0, 31)
	_, err = robots.Authenticate(ctx, "robot$library+ci", secret)
	fmt.Println(errors.Is(err, auth.ErrExpired))
	// Output:
	// audit: robot-create robot$library+ci by alice
	// robot$library+ci project 43 character secret
	// may pull repository in library
	// may push repository in library
	// true
	// true
}
