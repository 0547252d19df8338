package oidc_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/auth/oidc"
	"github.com/berthlabs/berth/internal/seal"
	"github.com/berthlabs/berth/sqldb"
)

// sessions stands for the server's session manager.
type sessions struct{}

func (sessions) Start(w http.ResponseWriter, _ *http.Request, username string) error { return nil }

func Example() {
	ctx := context.Background()
	db, _ := sqldb.OpenSQLiteMemory(ctx)
	defer db.Close()
	users, _ := auth.NewUsers(ctx, db)
	key := make([]byte, seal.KeySize) // the server's secret key
	_, _ = rand.Read(key)
	sealer, _ := seal.New(key)
	links, _ := oidc.NewLinks(ctx, db, sealer, nil)
	svc, err := oidc.New(oidc.Config{
		Issuer: "https://idp.example", ClientID: "berth", ClientSecret: "from-a-file",
		RedirectURL: "https://registry.example" + oidc.CallbackPath,
		GroupsClaim: "groups", AdminGroup: "registry-admins", AutoOnboard: true,
	}, users, links, sessions{}, key)
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/c/oidc/", svc.Handler()) // the browser login
	// docker login -u <user> -p <CLI secret> goes through the Gatekeeper:
	// auth.NewGatekeeper(..., auth.WithExternalAuthenticator(svc))
	fmt.Println(oidc.ValidSecret("weak"))
	// Output: invalid: the CLI secret must be 8 to 128 characters long with at least one upper-case letter, one lower-case letter and one digit
}
