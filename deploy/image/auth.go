package main

import (
	"crypto"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/berthlabs/berth/trust"
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

// loadKey reads the signing key, nil when none is given: a PEM private
// key, plain (PKCS#8, EC, RSA) or as `cosign generate-key-pair` writes it,
// encrypted with COSIGN_PASSWORD.
func loadKey(path string) (crypto.Signer, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-sign-key: %w", err)
	}
	k, err := cryptoutils.UnmarshalPEMToPrivateKey(b, func(bool) ([]byte, error) {
		return []byte(os.Getenv("COSIGN_PASSWORD")), nil
	})
	if err != nil {
		return nil, fmt.Errorf("-sign-key %s: %w (want a PEM private key: PKCS#8, EC, RSA, or cosign's with COSIGN_PASSWORD set)", path, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("-sign-key %s: a %T cannot sign", path, k)
	}
	if _, err := trust.KeyID(s.Public()); err != nil {
		return nil, fmt.Errorf("-sign-key %s: %w", path, err)
	}
	return s, nil
}
