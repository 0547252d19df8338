// Package seal encrypts small secrets (registry passwords, scanner
// credentials) for storage at rest with AES-256-GCM, bound to a label
// (the additional data) so a sealed value cannot be moved to another
// column and still open.
//
//	s, _ := seal.New(key) // 32 bytes; nil stores values marked "plain:"
//	sealed, _ := s.Seal("hunter2", "scan_scanners.credential")
//	plain, _ := s.Open(sealed, "scan_scanners.credential")
//
// Without a key, values are stored marked as plain, so a key configured
// later still reads them (and seals what is written from then on).
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the key length New accepts.
const KeySize = 32

// Errors of Open.
var (
	ErrNoKey     = errors.New("seal: the value is encrypted and no key is configured")
	ErrWrongKey  = errors.New("seal: cannot decrypt the value (wrong key, or altered)")
	ErrMalformed = errors.New("seal: malformed sealed value")
)

// Sealer seals and opens values; safe for concurrent use.
type Sealer struct{ aead cipher.AEAD }

// New returns a Sealer for a KeySize-byte key, or, for a nil key, one that
// stores values marked plain.
func New(key []byte) (*Sealer, error) {
	if key == nil {
		return &Sealer{}, nil
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: the key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plain, bound to label. The empty string stays empty.
func (s *Sealer) Seal(plain, label string) (string, error) {
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
	ct := s.aead.Seal(nonce, nonce, []byte(plain), []byte(label))
	return "gcm:" + base64.StdEncoding.EncodeToString(ct), nil
}

// Open returns the value Seal sealed with the same label.
func (s *Sealer) Open(sealed, label string) (string, error) {
	switch {
	case sealed == "":
		return "", nil
	case strings.HasPrefix(sealed, "plain:"):
		return strings.TrimPrefix(sealed, "plain:"), nil
	case strings.HasPrefix(sealed, "gcm:"):
		if s.aead == nil {
			return "", ErrNoKey
		}
		ct, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, "gcm:"))
		if err != nil || len(ct) < s.aead.NonceSize() {
			return "", ErrMalformed
		}
		pt, err := s.aead.Open(nil, ct[:s.aead.NonceSize()], ct[s.aead.NonceSize():], []byte(label))
		if err != nil {
			return "", ErrWrongKey
		}
		return string(pt), nil
	}
	return "", ErrMalformed
}
