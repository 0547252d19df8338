package token

import (
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Lifetimes and clock skew.
const (
	DefaultTTL    = 5 * time.Minute
	MinTTL        = time.Minute
	MaxTTL        = time.Hour
	DefaultLeeway = 30 * time.Second
	MaxLeeway     = 2 * time.Minute
)

// Service issues and verifies registry tokens. It is immutable and safe for
// concurrent use; to rotate keys, build a new Service and swap it in.
type Service struct {
	issuer  string
	service string
	aliases []string // other service names requests may name
	signer  crypto.Signer
	signKey key
	keys    map[string]key  // by key id: the signing key and verification keys
	algs    map[string]bool // algorithms of keys
	ttl     time.Duration
	leeway  time.Duration
	now     func() time.Time
	log     *slog.Logger

	verified *verifiedCache
}

// Option configures a Service.
type Option func(*config)

type config struct {
	signer crypto.Signer
	signID string
	verify []key
	ttl    time.Duration
	leeway time.Duration
	now    func() time.Time
	log    *slog.Logger
	alias  []string
	errs   []error
}

// WithSigningKey sets the key tokens are signed with: ECDSA P-256 (ES256,
// the usual choice; see GenerateKey), P-384/P-521, RSA ≥ 2048 bits (RS256)
// or Ed25519 (EdDSA). Any crypto.Signer works, including hardware-backed
// ones. keyID is the token header's kid; "" derives it with KeyID. The key
// also verifies. Required.
func WithSigningKey(k crypto.Signer, keyID string) Option {
	return func(c *config) { c.signer, c.signID = k, keyID }
}

// WithVerificationKey adds a public key that tokens may be signed with, for
// rotation: keep the previous signing key's public half here until the
// tokens it signed have expired. keyID "" derives it with KeyID.
func WithVerificationKey(pub crypto.PublicKey, keyID string) Option {
	return func(c *config) {
		k, err := newKey(pub, keyID)
		if err != nil {
			c.errs = append(c.errs, err)
			return
		}
		c.verify = append(c.verify, k)
	}
}

// WithServiceAliases lets token requests name the service by these names
// as well as its own, e.g. HarborService for Harbor's clients. Tokens
// still name the Service's own name as their audience, so the registry
// verifying them needs no change.
func WithServiceAliases(names ...string) Option {
	return func(c *config) {
		for _, n := range names {
			if n == "" {
				c.errs = append(c.errs, errors.New("token: empty service alias"))
			}
		}
		c.alias = append(c.alias, names...)
	}
}

// WithTTL sets how long tokens live, between MinTTL and MaxTTL
// (default DefaultTTL).
func WithTTL(d time.Duration) Option { return func(c *config) { c.ttl = d } }

// WithLeeway sets the clock skew tolerated on exp, nbf and iat, between 0 and
// MaxLeeway (default DefaultLeeway).
func WithLeeway(d time.Duration) Option { return func(c *config) { c.leeway = d } }

// WithClock sets the time source (tests).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithLogger sets where the token endpoint logs internal failures
// (default: nowhere).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// New builds a Service whose tokens name issuer as iss and service (the
// registry's name, the "service" parameter of token requests) as aud.
func New(issuer, service string, opts ...Option) (*Service, error) {
	c := config{ttl: DefaultTTL, leeway: DefaultLeeway, now: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&c)
	}
	switch {
	case issuer == "" || service == "":
		c.errs = append(c.errs, errors.New("token: issuer and service are required"))
	case c.signer == nil:
		c.errs = append(c.errs, errors.New("token: a signing key is required"))
	case c.ttl < MinTTL || c.ttl > MaxTTL:
		c.errs = append(c.errs, fmt.Errorf("token: TTL %v outside [%v, %v]", c.ttl, MinTTL, MaxTTL))
	case c.leeway < 0 || c.leeway > MaxLeeway:
		c.errs = append(c.errs, fmt.Errorf("token: leeway %v outside [0, %v]", c.leeway, MaxLeeway))
	case c.now == nil || c.log == nil:
		c.errs = append(c.errs, errors.New("token: nil clock or logger"))
	}
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	sk, err := newKey(c.signer.Public(), c.signID)
	if err != nil {
		return nil, err
	}
	s := &Service{
		issuer: issuer, service: service, aliases: c.alias, signer: c.signer, signKey: sk,
		keys: map[string]key{}, algs: map[string]bool{},
		ttl: c.ttl, leeway: c.leeway, now: c.now, log: c.log, verified: newVerifiedCache(verifiedCacheSize),
	}
	for _, k := range append([]key{sk}, c.verify...) {
		if old, dup := s.keys[k.id]; dup && !samePublic(old.pub, k.pub) {
			return nil, fmt.Errorf("token: key id %q names two different keys", k.id)
		}
		s.keys[k.id] = k
		s.algs[k.alg] = true
	}
	return s, nil
}

// Service returns the service name tokens are issued for (their audience).
func (s *Service) Service() string { return s.service }

// servesName reports whether a token request's service parameter names
// this Service: its own name or an alias.
func (s *Service) servesName(name string) bool {
	return name == s.service || slices.Contains(s.aliases, name)
}

// KeyID returns the id of the signing key.
func (s *Service) KeyID() string { return s.signKey.id }

func samePublic(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}
