package oidc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/oauth2"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/core"
)

// ErrWeakSecret is SetCLISecret's answer to a secret that breaks Harbor's
// rule: 8 to 128 characters with an upper-case letter, a lower-case
// letter and a digit.
var ErrWeakSecret = fmt.Errorf("%w: the CLI secret must be 8 to 128 characters long with at least one upper-case letter, one lower-case letter and one digit", auth.ErrInvalid)

// NewSecret makes a random CLI secret that meets Harbor's rule.
func NewSecret() string {
	// rand.Text is 26 base32 characters (A-Z, 2-7); a lower-case prefix
	// and a digit make every class present.
	return "c" + rand.Text() + "9"
}

// ValidSecret checks a chosen CLI secret against Harbor's rule.
func ValidSecret(secret string) error {
	if len(secret) < 8 || len(secret) > 128 {
		return ErrWeakSecret
	}
	var upper, lower, digit bool
	for _, c := range secret {
		switch {
		case c > unicode.MaxASCII || !unicode.IsPrint(c):
			return ErrWeakSecret
		case unicode.IsUpper(c):
			upper = true
		case unicode.IsLower(c):
			lower = true
		case unicode.IsDigit(c):
			digit = true
		}
	}
	if !upper || !lower || !digit {
		return ErrWeakSecret
	}
	return nil
}

// ErrNotOIDCUser is SetCLISecret's answer for a user that exists but was
// not onboarded through OIDC (Harbor answers 412).
var ErrNotOIDCUser = core.New(core.ErrPrecondition, "the user was not onboarded through OIDC: it has no CLI secret")

// SetCLISecret replaces an OIDC user's CLI secret: ErrWeakSecret for a
// secret that breaks Harbor's rule, ErrNotOIDCUser for a user of another
// source, auth.ErrNotFound for no such user.
func (s *Service) SetCLISecret(ctx context.Context, username, secret string) error {
	if err := ValidSecret(secret); err != nil {
		return err
	}
	err := s.links.SetSecret(ctx, username, secret)
	if errors.Is(err, auth.ErrNotFound) {
		if _, gerr := s.users.Get(ctx, username); gerr == nil {
			return ErrNotOIDCUser
		}
	}
	return err
}

// CLISecret returns an OIDC user's CLI secret, for its owner to see.
func (s *Service) CLISecret(ctx context.Context, username string) (string, error) {
	return s.links.Secret(ctx, username)
}

// Authenticate implements auth.ExternalAuthenticator: an OIDC user's CLI
// secret as its password (docker login -u <user> -p <secret>). Users the
// provider refused at the last refresh are refused (auth.ErrDisabled);
// when the user has a refresh token and RefreshInterval has passed since
// the provider was last asked, it is asked again, and its groups and
// admin group membership replace the stored ones.
func (s *Service) Authenticate(ctx context.Context, username, password string) (*auth.ExternalIdentity, error) {
	if len(username) > 255 || len(password) > 128 {
		return nil, auth.ErrInvalidCredentials
	}
	l, err := s.links.byUser(ctx, username)
	switch {
	case errors.Is(err, auth.ErrNotFound):
		return nil, auth.ErrInvalidCredentials
	case err != nil:
		return nil, err
	case l.secret == "" || subtle.ConstantTimeCompare([]byte(l.secret), []byte(password)) != 1:
		return nil, auth.ErrInvalidCredentials
	case l.Refused:
		return nil, fmt.Errorf("%w: the OIDC provider refused %s's refresh token; log in again in the browser", auth.ErrDisabled, l.Username)
	}
	if l.refresh != "" && s.cfg.RefreshInterval > 0 && s.now().Sub(l.CheckedAt) >= s.cfg.RefreshInterval {
		if err := s.refresh(ctx, l); err != nil {
			return nil, err
		}
	}
	u, err := s.users.Get(ctx, l.Username)
	if err != nil {
		if errors.Is(err, auth.ErrNotFound) {
			return nil, auth.ErrInvalidCredentials
		}
		return nil, err
	}
	return &auth.ExternalIdentity{Username: u.Name, Email: u.Email, DisplayName: u.DisplayName, Source: SourceOIDC,
		Groups: l.Groups, SystemAdmin: l.Admin}, nil
}

// refresh asks the provider about l with its refresh token. A refusal
// (the provider answered with an OAuth error: the user was disabled or
// the grant revoked) marks the user refused; a provider that cannot be
// reached is auth.ErrUnavailable and changes nothing.
func (s *Service) refresh(ctx context.Context, l *link) error {
	d, err := s.provider(ctx)
	if err != nil {
		return err
	}
	ctx = s.ctx(ctx)
	tok, err := d.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: l.refresh}).Token()
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500:
		if rerr := s.links.refuse(ctx, l.Username); rerr != nil {
			return rerr
		}
		s.log.InfoContext(ctx, "oidc: the provider refused a refresh token", "user", l.Username, "err", strings.TrimSpace(re.ErrorCode))
		return fmt.Errorf("%w: the OIDC provider refused %s's refresh token", auth.ErrDisabled, l.Username)
	case err != nil:
		return fmt.Errorf("%w: refreshing %s's token: %v", auth.ErrUnavailable, l.Username, err)
	}
	id, err := s.identityFrom(ctx, d, tok, "", l.Subject)
	if err != nil {
		return err
	}
	if id.Refresh == l.refresh {
		id.Refresh = ""
	}
	if err := s.links.update(ctx, l.Username, id.Groups, id.Admin, id.Refresh); err != nil {
		return err
	}
	l.Groups, l.Admin = id.Groups, id.Admin
	return nil
}

// ExternalGroups implements auth.ExternalGroups: the groups and admin
// group membership the provider reported at the user's last login or
// refresh; none for users it refused, or that are not OIDC users.
func (s *Service) ExternalGroups(ctx context.Context, username string) ([]string, bool, error) {
	l, err := s.links.Get(ctx, username)
	switch {
	case errors.Is(err, auth.ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	case l.Refused:
		return nil, false, nil
	}
	return l.Groups, l.Admin, nil
}
