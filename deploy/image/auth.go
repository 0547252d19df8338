package main

import (
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// authFromKeychain finds credentials for ref's registry in the docker
// config (DOCKER_CONFIG, ~/.docker/config.json), anonymous without.
func authFromKeychain(ref string) authn.Authenticator {
	r, err := name.ParseReference(ref)
	if err != nil {
		return authn.Anonymous
	}
	a, err := authn.DefaultKeychain.Resolve(r.Context())
	if err != nil {
		return authn.Anonymous
	}
	return a
}
