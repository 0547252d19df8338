package api_test

import (
	"context"
	"log"
	"net/http"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/auth/token"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/filesystem"
)

// Wiring the management API next to the registry, with the Gatekeeper
// deciding for both and every store change invalidating its caches.
func Example() {
	ctx := context.Background()
	db, err := sqldb.OpenSQLite(ctx, "/var/lib/berth/berth.db")
	if err != nil {
		log.Fatal(err)
	}
	blobs, err := filesystem.New("/var/lib/berth/blobs")
	if err != nil {
		log.Fatal(err)
	}
	// The registry asks the Gatekeeper, which reads projects, whose store
	// counts the registry's repositories: close the loop with variables.
	var (
		gk  *auth.Gatekeeper
		reg *registry.Registry
	)
	invalidate := func() { gk.Invalidate() }
	projects, err := project.NewStore(ctx, db,
		// DELETE /projects/{p} answers 412 while repositories remain.
		project.WithRepositoryCounter(func(ctx context.Context, p string) (int, error) { return reg.CountRepositories(ctx, p) }),
		project.WithChangeHook(func(context.Context, project.Change) { invalidate() }))
	if err != nil {
		log.Fatal(err)
	}
	hook := auth.WithChangeHook(func(context.Context, auth.Change) { invalidate() })
	users, err := auth.NewUsers(ctx, db, hook)
	if err != nil {
		log.Fatal(err)
	}
	robots, err := auth.NewRobots(ctx, db, hook)
	if err != nil {
		log.Fatal(err)
	}
	auditLog, err := audit.NewStore(ctx, db)
	if err != nil {
		log.Fatal(err)
	}
	key, err := token.LoadOrCreateKey("/var/lib/berth/token.key")
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := token.New("https://registry.example.com/service/token", "registry.example.com", token.WithSigningKey(key, ""))
	if err != nil {
		log.Fatal(err)
	}
	gk = auth.NewGatekeeper(users, robots, projects, auth.NewPolicy(api.PolicyLoader(projects, robots)), tokens,
		"https://registry.example.com/service/token")
	if reg, err = registry.New(ctx, blobs, db, registry.WithAuthorizer(gk)); err != nil {
		log.Fatal(err)
	}

	a, err := api.New(api.Deps{Projects: projects, Users: users, Robots: robots, Audit: auditLog, Registry: reg, Access: gk},
		api.WithVersion("v0.1.0"), api.WithRegistryURL("registry.example.com"))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(api.BasePath+"/", a)
	mux.Handle("/v2/", reg)
	mux.Handle("/service/token", tokens.Handler(gk, gk))
	log.Fatal(http.ListenAndServe(":8080", mux))
}
