// Package token is a Docker/OCI registry token service: it issues and
// verifies the short-lived signed JWTs of the distribution "token
// authentication" specification, whose granted actions come from an
// authorization callback.
//
// A client refused by the registry gets a Bearer challenge (Challenge,
// Service.Unauthorized) naming the token endpoint (Service.Handler), asks it
// for scopes such as "repository:library/nginx:pull,push" with or without
// Basic credentials, and retries with the token, which the registry checks
// with Service.VerifyRequest.
//
//	key, err := token.LoadOrCreateKey("/var/lib/berth/token.pem") // P-256, mode 0600
//	svc, err := token.New("https://reg.example.com/service/token", "reg.example.com",
//		token.WithSigningKey(key, ""))
//	mux.Handle("/service/token", svc.Handler(users, policy))
//
//	// registry side, inside a registry.Authorizer:
//	claims, err := svc.VerifyRequest(r, need)
//	if err != nil {
//		return nil, svc.Unauthorized("https://reg.example.com/service/token", need, err)
//	}
//	return registry.WithActor(r.Context(), claims.Subject), nil
//
// Tokens carry iss, sub, aud (the service), exp, nbf, iat, a random jti and
// the spec's "access" claim; the header names the key (kid). Verification
// pins the algorithm to the key the kid names, so "alg: none" and HMAC
// tokens forged with a public key are refused, and decodes claims strictly.
// To rotate keys, sign with the new key and keep the old one as a
// verification key (WithVerificationKey) until its tokens have expired.
package token
