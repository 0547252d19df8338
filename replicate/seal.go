package replicate

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// sealer encrypts endpoint secrets at rest with AES-256-GCM, or, without
// a key, stores them as they are (marked so, so a key added later still
// reads them).
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	if key == nil {
		return &sealer{}, nil
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("%w: the secret key must be 32 bytes, got %d", ErrInvalid, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(plain, aad string) (string, error) {
	if plain == "" {
		return "", nil
	}
	if s.aead == nil {
		return "plain:" + plain, nil
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	ct := s.aead.Seal(nonce, nonce, []byte(plain), []byte(aad))
	return "gcm:" + base64.StdEncoding.EncodeToString(ct), nil
}

func (s *sealer) open(sealed, aad string) (string, error) {
	switch {
	case sealed == "":
		return "", nil
	case strings.HasPrefix(sealed, "plain:"):
		return strings.TrimPrefix(sealed, "plain:"), nil
	case strings.HasPrefix(sealed, "gcm:"):
		if s.aead == nil {
			return "", errors.New("replicate: an endpoint secret is encrypted and no key is configured")
		}
		ct, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, "gcm:"))
		if err != nil || len(ct) < s.aead.NonceSize() {
			return "", errors.New("replicate: malformed sealed secret")
		}
		pt, err := s.aead.Open(nil, ct[:s.aead.NonceSize()], ct[s.aead.NonceSize():], []byte(aad))
		if err != nil {
			return "", errors.New("replicate: cannot decrypt an endpoint secret (wrong key?)")
		}
		return string(pt), nil
	}
	return "", errors.New("replicate: unknown secret format")
}
