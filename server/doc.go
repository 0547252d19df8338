// Package server assembles berth's packages into one consistent registry:
// the OCI distribution API, the token service, the Harbor-shaped
// management API, Helm chart repositories, vulnerability scanning,
// content trust, replication and the audit log, over one store. It owns
// the rules that span packages (what a project's deletion removes, how
// store changes become audit entries, which credentials a scanner adapter
// gets) so that an embedder does not copy them.
//
// Run it on a data directory:
//
//	cfg := server.DefaultConfig()
//	cfg.DataDir = "/var/lib/berth"
//	srv, err := server.New(ctx, cfg)
//	if err != nil { ... }
//	defer srv.Close(ctx)
//	err = srv.Run(ctx) // until ctx ends; Config.TLS for HTTPS
//
// or serve its Handler in your own program, over your own store
// (WithStorage, WithDatabase), and add your own policy as a Feature:
//
//	gate := server.FeatureFunc(func(a *server.Assembly) error {
//		a.AddPullGate(myPolicy)
//		a.Handle("GET /my/route", myHandler)
//		return nil
//	})
//	srv, err := server.New(ctx, cfg, server.WithFeature(gate))
//	mux.Handle("/", srv.Handler())
//
// LoadConfig reads a Config the way the reference binary does: a YAML
// file, BERTH_<KEY> variables and flags.
package server
