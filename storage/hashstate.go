package storage

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding"
	"fmt"
	"hash"

	"github.com/opencontainers/go-digest"
)

// Hasher is a resumable digest computation: its state can be serialised after
// every acknowledged write and restored after a restart.
//
// An upload hashes with sha256 while the bytes arrive; when the client
// commits with another algorithm (sha512) the driver rehashes the stored
// bytes once, which keeps the common path to one hash pass.
type Hasher struct {
	alg digest.Algorithm
	h   hash.Hash
}

// NewHasher returns a Hasher for sha256 or sha512.
func NewHasher(alg digest.Algorithm) (*Hasher, error) {
	switch alg {
	case digest.SHA256:
		return &Hasher{alg: alg, h: sha256.New()}, nil
	case digest.SHA512:
		return &Hasher{alg: alg, h: sha512.New()}, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlgo, alg)
}

// Write adds p to the hash.
func (h *Hasher) Write(p []byte) (int, error) { return h.h.Write(p) }

// Algorithm is the hash's digest algorithm.
func (h *Hasher) Algorithm() digest.Algorithm { return h.alg }

// Digest is the digest of everything written so far.
func (h *Hasher) Digest() digest.Digest { return digest.NewDigest(h.alg, h.h) }

// MarshalBinary serialises the running hash state.
func (h *Hasher) MarshalBinary() ([]byte, error) {
	return h.h.(encoding.BinaryMarshaler).MarshalBinary()
}

// RestoreHasher rebuilds a Hasher from MarshalBinary's output.
func RestoreHasher(alg digest.Algorithm, state []byte) (*Hasher, error) {
	h, err := NewHasher(alg)
	if err != nil {
		return nil, err
	}
	if err := h.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return nil, fmt.Errorf("restore %s state: %w", alg, err)
	}
	return h, nil
}

// CheckDigest validates dgst's syntax and that its algorithm is supported.
func CheckDigest(dgst digest.Digest) error {
	if err := dgst.Validate(); err != nil {
		if err == digest.ErrDigestUnsupported {
			return fmt.Errorf("%w: %q", ErrUnsupportedAlgo, dgst.Algorithm())
		}
		return err
	}
	switch dgst.Algorithm() {
	case digest.SHA256, digest.SHA512:
		return nil
	}
	return fmt.Errorf("%w: %q", ErrUnsupportedAlgo, dgst.Algorithm())
}
