// Package oidc logs users in at an OpenID Connect provider, as Harbor's
// OIDC auth mode does: berth is the relying party of an authorization
// code flow with PKCE (S256), state and nonce, against any provider found
// by discovery from its issuer.
//
//	links, _ := oidc.NewLinks(ctx, db, sealer, nil)
//	svc, _ := oidc.New(oidc.Config{Issuer: "https://idp.example", ClientID: "berth", ClientSecret: secret,
//		RedirectURL: "https://registry.example" + oidc.CallbackPath, GroupsClaim: "groups",
//		AdminGroup: "registry-admins", AutoOnboard: true}, users, links, sessions, serverKey)
//	mux.Handle("/c/oidc/", svc.Handler())
//	gk := auth.NewGatekeeper(..., auth.WithExternalAuthenticator(svc))
//
// GET /c/oidc/login sends the browser to the provider; the login's
// state, nonce and PKCE verifier travel in a sealed, HttpOnly cookie, so
// any node of a scale-out installation finishes the flow. GET
// /c/oidc/callback exchanges the code, verifies the ID token (signature,
// issuer, audience, expiry, nonce), merges the userinfo claims, and either
// starts a browser session (through the SessionStarter) for the user
// linked to that (issuer, subject), onboards a new one under its username
// claim (AutoOnboard), or sends it to onboarding, where it chooses a name
// (POST /c/oidc/onboard). Onboarded users are auth users of source
// "oidc": they have no password.
//
// The groups claim becomes the groups the user's principal carries
// (project members of kind group with that name give it their role);
// membership of the admin group makes it a system admin while the
// provider says so. Both are re-read at each login and refresh.
//
// Each OIDC user has a CLI secret (Harbor's), stored sealed so its owner
// can see it: docker login takes it as the password, through
// Service.Authenticate, an auth.ExternalAuthenticator. With
// offline_access, the stored refresh token re-validates the user at most
// every RefreshInterval when the secret is used: a provider that refuses
// it (the user was disabled there) makes the secret refused until the
// user logs in again in the browser.
package oidc
