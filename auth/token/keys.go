package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/golang-jwt/jwt/v5"
)

// minRSABits is the smallest RSA modulus accepted.
const minRSABits = 2048

// key is one verification key: its id, algorithm and public half.
type key struct {
	id  string
	alg string
	pub crypto.PublicKey
}

// newKey checks pub and derives its algorithm, and its id when id is "".
func newKey(pub crypto.PublicKey, id string) (key, error) {
	alg, err := algFor(pub)
	if err != nil {
		return key{}, err
	}
	if id == "" {
		if id, err = KeyID(pub); err != nil {
			return key{}, err
		}
	}
	return key{id: id, alg: alg, pub: pub}, nil
}

// algFor names the JWS algorithm of a public key: ES256/384/512 for ECDSA
// by curve, RS256 for RSA of at least 2048 bits, EdDSA for Ed25519.
func algFor(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "ES256", nil
		case elliptic.P384():
			return "ES384", nil
		case elliptic.P521():
			return "ES512", nil
		}
		return "", errors.New("token: unsupported ECDSA curve")
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return "", fmt.Errorf("token: RSA key shorter than %d bits", minRSABits)
		}
		return "RS256", nil
	case ed25519.PublicKey:
		return "EdDSA", nil
	}
	return "", fmt.Errorf("token: unsupported key type %T", pub)
}

// method returns the jwt verifier of an algorithm algFor names.
func method(alg string) jwt.SigningMethod {
	switch alg {
	case "ES256":
		return jwt.SigningMethodES256
	case "ES384":
		return jwt.SigningMethodES384
	case "ES512":
		return jwt.SigningMethodES512
	case "RS256":
		return jwt.SigningMethodRS256
	case "EdDSA":
		return jwt.SigningMethodEdDSA
	}
	return nil
}

// KeyID derives a stable key id from a public key: the unpadded base64url
// SHA-256 of its PKIX encoding, truncated to 24 bytes.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("token: key id: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:24]), nil
}

// GenerateKey makes a new P-256 signing key (ES256).
func GenerateKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// MarshalKey encodes a private key as PKCS#8 PEM.
func MarshalKey(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("token: marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseKey decodes a PEM private key: PKCS#8 ("PRIVATE KEY"), or the older
// "EC PRIVATE KEY" and "RSA PRIVATE KEY" forms.
func ParseKey(data []byte) (crypto.Signer, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("token: no PEM block in key")
	}
	var k any
	var err error
	switch b.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	default:
		return nil, fmt.Errorf("token: unsupported PEM block %q", b.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("token: parse key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("token: %T is not a signing key", k)
	}
	if _, err := algFor(s.Public()); err != nil {
		return nil, err
	}
	return s, nil
}

// SaveKey writes k to a new file at path as PKCS#8 PEM, mode 0600. The file
// appears complete or not at all, and an existing file is never replaced.
func SaveKey(path string, k crypto.Signer) error {
	data, err := MarshalKey(k)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return fmt.Errorf("token: save key: %w", err)
	}
	tmp := f.Name()
	defer func() { _ = os.Remove(tmp) }()
	if err := writeSync(f, data); err != nil {
		return fmt.Errorf("token: save key: %w", err)
	}
	if err := os.Link(tmp, path); err != nil {
		return fmt.Errorf("token: save key: %w", err)
	}
	return nil
}

// writeSync writes data to f (mode 0600), syncs and closes it.
func writeSync(f *os.File, data []byte) error {
	err := f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// LoadKey reads a PEM private key file.
func LoadKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("token: load key: %w", err)
	}
	return ParseKey(data)
}

// LoadOrCreateKey reads the key at path, or, when no file is there, generates
// a P-256 key and saves it (mode 0600).
func LoadOrCreateKey(path string) (crypto.Signer, error) {
	k, err := LoadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	nk, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	if err := SaveKey(path, nk); err != nil {
		if errors.Is(err, fs.ErrExist) { // another process won the race
			return LoadKey(path)
		}
		return nil, err
	}
	return nk, nil
}
