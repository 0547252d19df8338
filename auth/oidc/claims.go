package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/oauth2"

	"github.com/berthlabs/berth/auth"
)

// identity is what the provider says about a user at a login or refresh.
type identity struct {
	Issuer, Subject string
	Username        string // from the username claim; may be empty or invalid
	Email, Name     string
	Groups          []string // filtered
	Admin           bool
	Refresh         string // the refresh token, when the provider sent one
}

// Bounds on what a provider may make berth store.
const (
	maxGroups     = 256
	maxGroupBytes = 255
)

// identityFrom reads a token answer: the ID token, verified (signature,
// issuer, audience, expiry and, when nonce is set, nonce), merged with
// the userinfo endpoint's claims. A refresh answer may carry no ID token:
// then the userinfo claims count, for the subject wantSub.
func (s *Service) identityFrom(ctx context.Context, d *discovered, tok *oauth2.Token, nonce, wantSub string) (*identity, error) {
	claims := map[string]any{}
	sub := wantSub
	raw, hasID := tok.Extra("id_token").(string)
	switch {
	case hasID && raw != "":
		idt, err := d.verifier.Verify(ctx, raw)
		if err != nil {
			return nil, fmt.Errorf("%w: ID token: %v", auth.ErrInvalidCredentials, err)
		}
		if nonce != "" && subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
			return nil, fmt.Errorf("%w: ID token: nonce does not match the login's", auth.ErrInvalidCredentials)
		}
		if wantSub != "" && idt.Subject != wantSub {
			return nil, fmt.Errorf("%w: ID token names another subject", auth.ErrInvalidCredentials)
		}
		if err := idt.Claims(&claims); err != nil {
			return nil, fmt.Errorf("%w: ID token claims: %v", auth.ErrInvalidCredentials, err)
		}
		sub = idt.Subject
	case nonce != "":
		return nil, fmt.Errorf("%w: the provider sent no ID token", auth.ErrInvalidCredentials)
	}
	if d.p.UserInfoEndpoint() != "" {
		ui, err := d.p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		switch {
		case err != nil && !hasID:
			return nil, fmt.Errorf("%w: userinfo: %v", auth.ErrInvalidCredentials, err)
		case err != nil:
			s.log.WarnContext(ctx, "oidc: userinfo failed; using the ID token's claims", "err", err)
		case ui.Subject != sub:
			return nil, fmt.Errorf("%w: userinfo names another subject", auth.ErrInvalidCredentials)
		default:
			var more map[string]any
			if err := ui.Claims(&more); err == nil {
				for k, v := range more {
					if _, ok := claims[k]; !ok {
						claims[k] = v
					}
				}
			}
		}
	}
	if sub == "" {
		return nil, fmt.Errorf("%w: no subject", auth.ErrInvalidCredentials)
	}
	id := &identity{Issuer: s.cfg.Issuer, Subject: sub, Email: str(claims["email"]), Name: str(claims["name"])}
	if s.cfg.UsernameClaim != "" {
		id.Username = str(claims[s.cfg.UsernameClaim])
	} else if id.Username = str(claims["preferred_username"]); id.Username == "" {
		id.Username = id.Name
	}
	if rt, ok := tok.Extra("refresh_token").(string); ok {
		id.Refresh = rt
	} else {
		id.Refresh = tok.RefreshToken
	}
	if s.cfg.GroupsClaim != "" {
		all, err := groupList(claims[s.cfg.GroupsClaim])
		if err != nil {
			return nil, fmt.Errorf("%w: claim %q: %v", auth.ErrInvalidCredentials, s.cfg.GroupsClaim, err)
		}
		id.Admin = s.cfg.AdminGroup != "" && slices.Contains(all, s.cfg.AdminGroup)
		for _, g := range all {
			if s.filter == nil || s.filter.MatchString(g) {
				id.Groups = append(id.Groups, g)
			}
		}
	}
	return id, nil
}

// groupList reads a groups claim: an array of strings, or one string.
func groupList(v any) ([]string, error) {
	var out []string
	add := func(x any) error {
		g, ok := x.(string)
		if !ok {
			return errors.New("want strings")
		}
		if g != "" && len(g) <= maxGroupBytes && !slices.Contains(out, g) {
			out = append(out, g)
		}
		return nil
	}
	switch v := v.(type) {
	case nil:
	case string:
		return out, add(v)
	case []any:
		if len(v) > maxGroups {
			return nil, fmt.Errorf("%d groups: at most %d", len(v), maxGroups)
		}
		for _, x := range v {
			if err := add(x); err != nil {
				return nil, err
			}
		}
	default:
		return nil, errors.New("want an array of strings")
	}
	return out, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
