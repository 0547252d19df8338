package server

import (
	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/scan/export"
)

// wireScanExports adds Harbor's scan data exports to scanning: their
// executions and CSV files in the server's database, and their API, which
// reads the reports scanning keeps. An export belongs to a user, so they
// need auth on (as scanning does).
func wireScanExports(a *Assembly) error {
	if !a.Auth() {
		return nil
	}
	s, err := export.New(a.Context(), a.DB())
	if err != nil {
		return err
	}
	a.AddAPIOptions(api.WithScanExports(s))
	return nil
}
