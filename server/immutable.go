package server

import (
	"context"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/immutable"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/sqldb"
)

// wireImmutable adds tag immutability: the rules of each project in the
// server's database, the registry's push and delete gates enforcing them,
// the API, and the project-deletion cascade. Rules belong to projects, so
// they need auth on.
func wireImmutable(a *Assembly) error {
	if !a.Auth() {
		return nil
	}
	store, err := immutable.NewStore(a.Context(), a.DB())
	if err != nil {
		return err
	}
	gate := immutable.NewGate(store, a.Projects(), a.Registry())
	a.AddPushGate(gate)
	a.AddDeleteGate(gate)
	a.OnProjectDelete(func(ctx context.Context, tx *sqldb.Tx, p project.Project) error {
		return store.ForgetProject(ctx, tx, p.ID)
	})
	a.AddAPIOptions(api.WithImmutable(store))
	return nil
}
