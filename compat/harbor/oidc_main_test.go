package harbor_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"

	"github.com/berthlabs/berth/auth/oidc"
	"github.com/berthlabs/berth/internal/oidctest"
	"github.com/berthlabs/berth/server"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// The second test server, in OIDC auth mode: LDAP (the first server's)
// and OIDC exclude each other. Its users log in at a real OpenID
// provider (internal/oidctest: zitadel's, in process).
var (
	oidcServerURL string             // http://host:port of the OIDC-mode server
	oidcIdP       *oidctest.Provider // the provider it logs users in at
)

// The provider's user the OIDC calls log in as; its groups claim names
// devs.
const (
	oidcUser     = "oidc-alice"
	oidcPassword = "oidc-alice-pw"
)

// startOIDC starts the provider and the OIDC-mode server, which onboards
// users at their first login under their preferred_username. stop shuts
// both down.
func startOIDC(ctx context.Context, dir string) (stop func(), err error) {
	tb := &mainTB{dir: dir}
	hs := httptest.NewUnstartedServer(nil)
	url := "http://" + hs.Listener.Addr().String()
	idp := oidctest.Start(tb, url+oidc.CallbackPath)
	idp.AddUser("u1", oidcUser, oidcPassword, "devs")
	db, err := sqldb.OpenSQLiteMemory(ctx)
	if err != nil {
		hs.Close()
		return tb.cleanup, err
	}
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = "", adminPassword, url
	cfg.Scan.Enabled, cfg.Trust.Enabled, cfg.Charts.Enabled, cfg.Replication.Enabled = false, false, false, false
	cfg.OIDC.Endpoint, cfg.OIDC.ClientID, cfg.OIDC.ClientSecret = idp.Issuer(), oidctest.ClientID, oidctest.ClientSecret
	cfg.OIDC.GroupsClaim, cfg.OIDC.AutoOnboard = "groups", true
	srv, err := server.New(ctx, cfg, server.WithStorage(memory.New()), server.WithDatabase(db),
		server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		hs.Close()
		_ = db.Close()
		return tb.cleanup, err
	}
	hs.Config.Handler = srv.Handler()
	hs.Start()
	oidcServerURL, oidcIdP = hs.URL, idp
	return func() {
		hs.Close()
		_ = srv.Close(context.Background())
		_ = db.Close()
		tb.cleanup()
	}, nil
}
