package trust

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"github.com/berthlabs/berth/core"
	"strings"
	"time"
)

// Errors of the package.
var (
	ErrInvalid  = core.ErrInvalid
	ErrNotFound = core.ErrNotFound
	ErrExists   = core.ErrExists
)

// Kind is the kind of a trust store entry.
type Kind string

// Entry kinds: a public key (for cosign key signatures) or an X.509
// certificate (for Notation: a signing certificate or a CA).
const (
	KindKey         Kind = "key"
	KindCertificate Kind = "certificate"
)

// MaxPEMSize bounds an uploaded key or certificate.
const MaxPEMSize = 64 << 10

// Entry is a key or certificate of a trust store.
type Entry struct {
	ID       int64     `json:"id"`
	Project  string    `json:"project,omitempty"` // "" for the system trust store
	Name     string    `json:"name"`
	Kind     Kind      `json:"kind"`
	KeyID    string    `json:"key_id"`            // sha256:<hex> of the public key's DER
	Subject  string    `json:"subject,omitempty"` // certificates
	NotAfter time.Time `json:"not_after,omitzero"`
	PEM      string    `json:"pem"`
	Created  time.Time `json:"created"`

	key  crypto.PublicKey
	cert *x509.Certificate
}

// PublicKey returns the entry's public key.
func (e *Entry) PublicKey() crypto.PublicKey { return e.key }

// Certificate returns the entry's certificate, nil for a key.
func (e *Entry) Certificate() *x509.Certificate { return e.cert }

// Signer is the signer the entry stands for.
func (e *Entry) Signer() Signer { return Signer{Name: e.Name, KeyID: e.KeyID, Subject: e.Subject} }

// ParseEntry reads one PEM block, a public key or a certificate, into an
// entry named name.
func ParseEntry(name string, pemText []byte) (*Entry, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 128 {
		return nil, fmt.Errorf("%w: entry name %q: want 1 to 128 characters", ErrInvalid, name)
	}
	if len(pemText) > MaxPEMSize {
		return nil, fmt.Errorf("%w: PEM larger than %d bytes", ErrInvalid, MaxPEMSize)
	}
	block, rest := pem.Decode(pemText)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block found", ErrInvalid)
	}
	if extra, _ := pem.Decode(rest); extra != nil {
		return nil, fmt.Errorf("%w: more than one PEM block; upload one key or certificate per entry", ErrInvalid)
	}
	e := &Entry{Name: name}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: public key: %v", ErrInvalid, err)
		}
		e.Kind, e.key = KindKey, k
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate: %v", ErrInvalid, err)
		}
		e.Kind, e.key, e.cert = KindCertificate, c.PublicKey, c
		e.Subject, e.NotAfter = c.Subject.String(), c.NotAfter.UTC()
	default:
		return nil, fmt.Errorf("%w: PEM block %q: want PUBLIC KEY or CERTIFICATE", ErrInvalid, block.Type)
	}
	id, err := KeyID(e.key)
	if err != nil {
		return nil, err
	}
	e.KeyID = id
	e.PEM = string(pem.EncodeToMemory(block))
	return e, nil
}

// KeyID is "sha256:" and the hex SHA-256 of a public key's PKIX DER; it
// identifies signers in policies. Only ECDSA, Ed25519 and RSA keys are
// accepted.
func KeyID(k crypto.PublicKey) (string, error) {
	switch k := k.(type) {
	case *ecdsa.PublicKey, ed25519.PublicKey:
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return "", fmt.Errorf("%w: RSA key of %d bits; want at least 2048", ErrInvalid, k.N.BitLen())
		}
	default:
		return "", fmt.Errorf("%w: key type %T: want ECDSA, Ed25519 or RSA", ErrInvalid, k)
	}
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// KeySet is the trust store a verification runs against: the system's
// entries and the project's.
type KeySet struct {
	Entries []*Entry
}

func (ks KeySet) keys() []*Entry {
	var out []*Entry
	for _, e := range ks.Entries {
		if e.Kind == KindKey {
			out = append(out, e)
		}
	}
	return out
}

func (ks KeySet) certificates() []*Entry {
	var out []*Entry
	for _, e := range ks.Entries {
		if e.Kind == KindCertificate {
			out = append(out, e)
		}
	}
	return out
}
