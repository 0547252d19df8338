package token

import (
	"crypto"
	"crypto/rand"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode"

	"github.com/berthlabs/berth/core"
)

// maxSubject bounds the sub claim.
const maxSubject = 256

// Token is an issued token.
type Token struct {
	Raw       string    // the compact JWS
	ExpiresIn int       // seconds
	IssuedAt  time.Time // UTC, whole seconds
}

// header is a token's JOSE header; no other member is accepted.
type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ,omitempty"`
}

// wireClaims is a token's payload as the token specification shapes it.
type wireClaims struct {
	Issuer    string       `json:"iss"`
	Subject   string       `json:"sub"`
	Audience  audience     `json:"aud"`
	ExpiresAt *int64       `json:"exp"`
	NotBefore *int64       `json:"nbf"`
	IssuedAt  *int64       `json:"iat"`
	ID        string       `json:"jti"`
	Access    []wireAccess `json:"access"`
}

type wireAccess struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// audience is "aud": written as a string, read as a string or an array.
type audience []string

func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(a))
}

// Issue signs a token for subject ("" for anonymous) granting access, which
// is merged per resource; every entry must be a valid scope. The caller has
// decided what subject may do: Issue grants exactly access.
func (s *Service) Issue(subject string, access []core.Access) (Token, error) {
	if len(subject) > maxSubject || strings.ContainsFunc(subject, unicode.IsControl) {
		return Token{}, fmt.Errorf("token: invalid subject")
	}
	acc := merge(access)
	if len(acc) > MaxScopes {
		return Token{}, fmt.Errorf("%w: more than %d resources", ErrInvalidScope, MaxScopes)
	}
	wa := make([]wireAccess, 0, len(acc))
	for _, a := range acc {
		if why := checkAccess(a); why != "" {
			return Token{}, fmt.Errorf("%w: %s: %s", ErrInvalidScope, FormatScope([]core.Access{a}), why)
		}
		wa = append(wa, wireAccess{Type: a.Type, Name: a.Name, Actions: a.Actions})
	}
	var jti [16]byte
	_, _ = rand.Read(jti[:]) // never fails
	now := s.now().Unix()
	exp := now + int64(s.ttl/time.Second)
	c := wireClaims{
		Issuer: s.issuer, Subject: subject, Audience: audience{s.service},
		ExpiresAt: &exp, NotBefore: &now, IssuedAt: &now,
		ID: base64.RawURLEncoding.EncodeToString(jti[:]), Access: wa,
	}
	raw, err := s.sign(header{Alg: s.signKey.alg, Kid: s.signKey.id, Typ: "JWT"}, c)
	if err != nil {
		return Token{}, err
	}
	return Token{Raw: raw, ExpiresIn: int(s.ttl / time.Second), IssuedAt: time.Unix(now, 0).UTC()}, nil
}

// sign produces the compact JWS of h and c with the signing key.
func (s *Service) sign(h header, c wireClaims) (string, error) {
	hb, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	cb, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(hb) + "." + enc.EncodeToString(cb)
	sig, err := signBytes(s.signer, s.signKey.alg, []byte(input))
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	return input + "." + enc.EncodeToString(sig), nil
}

// signBytes signs input with k for alg, producing the JWS signature bytes
// (for ECDSA, the fixed-size r||s, not ASN.1).
func signBytes(k crypto.Signer, alg string, input []byte) ([]byte, error) {
	if alg == "EdDSA" {
		return k.Sign(rand.Reader, input, crypto.Hash(0))
	}
	h, size := crypto.SHA256, 0
	switch alg {
	case "ES256":
		size = 32
	case "ES384":
		h, size = crypto.SHA384, 48
	case "ES512":
		h, size = crypto.SHA512, 66
	}
	d := h.New()
	d.Write(input)
	sig, err := k.Sign(rand.Reader, d.Sum(nil), h)
	if err != nil || size == 0 {
		return sig, err
	}
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(sig, &rs); err != nil || len(rest) > 0 ||
		rs.R.Sign() <= 0 || rs.S.Sign() <= 0 || rs.R.BitLen() > 8*size || rs.S.BitLen() > 8*size {
		return nil, fmt.Errorf("ECDSA signature is not ASN.1")
	}
	out := make([]byte, 2*size)
	rs.R.FillBytes(out[:size])
	rs.S.FillBytes(out[size:])
	return out, nil
}
