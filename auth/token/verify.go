package token

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/berthlabs/berth/core"
)

// MaxTokenLength bounds the tokens Verify reads.
const MaxTokenLength = 16 << 10

// Claims are a verified token's claims.
type Claims struct {
	Issuer    string
	Subject   string // "" for an anonymous token
	Audience  []string
	ExpiresAt time.Time
	NotBefore time.Time
	IssuedAt  time.Time
	ID        string
	KeyID     string
	Access    []core.Access
}

// Verify checks a token and returns its claims. It accepts only the
// algorithms of its keys, each key only with its own algorithm, and a known
// kid; then it checks the signature, decodes the claims strictly (no unknown
// members, every required claim, valid access entries) and checks iss, aud,
// exp, nbf and iat, the times with the configured leeway.
func (s *Service) Verify(raw string) (*Claims, error) {
	if raw == "" || len(raw) > MaxTokenLength {
		return nil, fmt.Errorf("%w: empty or longer than %d bytes", ErrMalformed, MaxTokenLength)
	}
	if c := s.verified.get(raw); c != nil {
		if err := s.checkClaims(c); err != nil {
			return nil, err
		}
		cp := *c // callers may not change the cached claims
		return &cp, nil
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: not three segments", ErrMalformed)
	}
	var h header
	if err := decodeSegment(parts[0], &h); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if h.Typ != "" && h.Typ != "JWT" {
		return nil, fmt.Errorf("%w: typ %q", ErrMalformed, h.Typ)
	}
	if !s.algs[h.Alg] {
		return nil, fmt.Errorf("%w: %q", ErrAlgorithm, h.Alg)
	}
	k, ok := s.keys[h.Kid]
	if !ok {
		return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, h.Kid)
	}
	if k.alg != h.Alg {
		return nil, fmt.Errorf("%w: %q with a %s key", ErrAlgorithm, h.Alg, k.alg)
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("%w: signature encoding", ErrMalformed)
	}
	if err := method(k.alg).Verify(parts[0]+"."+parts[1], sig, k.pub); err != nil {
		return nil, ErrInvalidSignature
	}
	var w wireClaims
	if err := decodeSegment(parts[1], &w); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	c, err := w.claims(h.Kid)
	if err != nil {
		return nil, err
	}
	if err := s.checkClaims(c); err != nil {
		return nil, err
	}
	cp := *c
	s.verified.put(raw, &cp, s.now())
	return c, nil
}

// decodeSegment decodes a base64url JSON object strictly: no padding, no
// unknown members, nothing after it.
func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("data after the JSON object")
	}
	return nil
}

// claims converts a decoded payload, requiring exp, nbf, iat and valid
// access entries.
func (w *wireClaims) claims(kid string) (*Claims, error) {
	if w.ExpiresAt == nil || w.NotBefore == nil || w.IssuedAt == nil || len(w.Audience) == 0 {
		return nil, fmt.Errorf("%w: missing exp, nbf, iat or aud", ErrMalformed)
	}
	if len(w.Access) > MaxScopes {
		return nil, fmt.Errorf("%w: too many access entries", ErrMalformed)
	}
	c := &Claims{
		Issuer: w.Issuer, Subject: w.Subject, Audience: w.Audience, ID: w.ID, KeyID: kid,
		ExpiresAt: time.Unix(*w.ExpiresAt, 0).UTC(),
		NotBefore: time.Unix(*w.NotBefore, 0).UTC(),
		IssuedAt:  time.Unix(*w.IssuedAt, 0).UTC(),
	}
	for _, a := range w.Access {
		ra := core.Access{Type: a.Type, Name: a.Name, Actions: a.Actions}
		if why := checkAccess(ra); why != "" {
			return nil, fmt.Errorf("%w: access %s: %s", ErrMalformed, FormatScope([]core.Access{ra}), why)
		}
		c.Access = append(c.Access, ra)
	}
	return c, nil
}

func (s *Service) checkClaims(c *Claims) error {
	now := s.now()
	switch {
	case c.Issuer != s.issuer:
		return fmt.Errorf("%w: %q", ErrWrongIssuer, c.Issuer)
	case !slices.Contains(c.Audience, s.service):
		return fmt.Errorf("%w: %q", ErrWrongAudience, c.Audience)
	case !now.Before(c.ExpiresAt.Add(s.leeway)):
		return fmt.Errorf("%w: at %s", ErrExpired, c.ExpiresAt.Format(time.RFC3339))
	case now.Add(s.leeway).Before(c.NotBefore) || now.Add(s.leeway).Before(c.IssuedAt):
		return fmt.Errorf("%w: until %s", ErrNotYetValid, c.NotBefore.Format(time.RFC3339))
	case c.ExpiresAt.Sub(c.IssuedAt) > MaxTTL:
		return fmt.Errorf("%w: lifetime longer than %v", ErrMalformed, MaxTTL)
	}
	return nil
}

// Allows reports whether the token covers every resource and action in
// need: the same type and name, and each action granted or "*" granted. An
// entry without actions (the /v2/ ping) needs only a valid token. The error
// is a *ScopeError naming what is missing.
func (c *Claims) Allows(need []core.Access) error {
	var missing []core.Access
	for _, n := range merge(need) {
		have := actionsFor(c.Access, n.Type, n.Name)
		m := core.Access{Type: n.Type, Name: n.Name}
		for _, act := range n.Actions {
			if !covers(have, act) {
				m.Actions = append(m.Actions, act)
			}
		}
		if len(m.Actions) > 0 {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		return &ScopeError{Missing: missing}
	}
	return nil
}
