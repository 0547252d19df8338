//go:build !goexperiment.jsonv2

package main

import (
	"context"

	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/server"
)

// builtinScanner: this build has no Trivy (it needs GOEXPERIMENT=jsonv2).
// Scanners registered through the API (Harbor scanner adapters) still work.
func builtinScanner(_ context.Context, a *server.Assembly) (string, scan.Scanner, scan.SBOMGenerator, error) {
	if a.Config().Trivy.Enabled {
		a.Logger().Warn("built without GOEXPERIMENT=jsonv2: no built-in Trivy scanner; build with GOEXPERIMENT=jsonv2 or register a scanner adapter")
	}
	return "", nil, nil, nil
}
