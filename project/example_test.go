package project_test

import (
	"context"
	"fmt"
	"log"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
)

// A registry operator creates a private project with its owner as project
// admin, grants a group developer rights on some repositories, and answers
// the questions an access check asks on every request.
func Example() {
	ctx := context.Background()
	db, err := sqldb.OpenSQLiteMemory(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	projects, err := project.NewStore(ctx, db,
		project.WithChangeHook(func(_ context.Context, c project.Change) {
			if c.Subject == "" {
				fmt.Printf("audit: %s %s by %s\n", c.Kind, c.Project, c.Actor)
			} else {
				fmt.Printf("audit: %s %s: %s as %s by %s\n", c.Kind, c.Project, c.Subject, c.Role, c.Actor)
			}
		}))
	if err != nil {
		log.Fatal(err)
	}

	ctx = registry.WithActor(ctx, "admin")
	_, err = projects.Create(ctx, project.Project{
		Name:     "team",
		Owner:    "alice",
		Metadata: project.Metadata{AutoScan: true, PreventVulnerable: true, Severity: "high"},
	}, project.Member{Subject: "user:alice", Role: project.RoleProjectAdmin})
	if err != nil {
		log.Fatal(err)
	}
	_, err = projects.AddMember(ctx, project.Member{
		Project: "team", Subject: "group:cn=devs,ou=groups,dc=example",
		Role: project.RoleDeveloper, Repositories: "team/app-*",
	})
	if err != nil {
		log.Fatal(err)
	}

	name, _ := project.ProjectOf("team/app-api")
	exists, public, _ := projects.Public(ctx, name)
	fmt.Println("team exists:", exists, "public:", public)
	exists, _ = projects.Exists(ctx, "nope")
	fmt.Println("nope exists:", exists)

	grants, _ := projects.MembershipsOf(ctx, []string{"user:bob", "group:cn=devs,ou=groups,dc=example"})
	for _, g := range grants {
		fmt.Println("bob may act as", g.Role, "on", g.Repositories)
	}

	_, err = projects.Create(ctx, project.Project{Name: "Team"})
	fmt.Println(err)
	// Output:
	// audit: project-create team by admin
	// audit: member-add team: user:alice as project-admin by admin
	// audit: member-add team: group:cn=devs,ou=groups,dc=example as developer by admin
	// team exists: true public: false
	// nope exists: false
	// bob may act as developer on team/app-*
	// invalid: project name "Team": upper-case 'T' at offset 0; names are lower-case
}
