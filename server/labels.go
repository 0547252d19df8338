package server

import (
	"context"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/label"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/sqldb"
)

// wireLabels adds labels: global and project labels and the artifacts
// carrying them, in the server's database; the /labels API and its
// artifact endpoints; the project-deletion cascade (a project's labels and
// every attachment in it go with it); and a sink that takes the labels off
// each artifact the registry deletes. Labels answer to RBAC, so they need
// auth on.
func wireLabels(a *Assembly) error {
	if !a.Auth() {
		return nil
	}
	s, err := label.New(a.Context(), a.DB())
	if err != nil {
		return err
	}
	a.OnProjectDelete(func(ctx context.Context, tx *sqldb.Tx, p project.Project) error {
		return s.ForgetProject(ctx, tx, p.ID)
	})
	a.AddEventSink(s.Sink(a.Logger().With("component", "label")))
	a.AddAPIOptions(api.WithLabels(s))
	return nil
}
