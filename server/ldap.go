package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/auth/ldap"
)

// LDAPFile is the JSON file ldap.config names: where the directory is and
// how users and groups are found. The bind password is
// configured apart (ldap.bind_password, BERTH_LDAP_BIND_PASSWORD) so the
// file holds no secret.
type LDAPFile struct {
	URL             string `json:"url"`
	StartTLS        bool   `json:"start_tls"`
	CAFile          string `json:"ca_file"`
	BindDN          string `json:"bind_dn"`
	BaseDN          string `json:"base_dn"`
	UserFilter      string `json:"user_filter"`
	UserAttr        string `json:"user_attr"`
	GroupBaseDN     string `json:"group_base_dn"`
	GroupFilter     string `json:"group_filter"`
	GroupMemberAttr string `json:"group_member_attr"`
	GroupNameAttr   string `json:"group_name_attr"`
	Nested          string `json:"nested"`
	TimeoutSeconds  int    `json:"timeout_seconds"`
}

// openLDAP reads the LDAP configuration and returns the directory (its
// Authenticate is what the Gatekeeper consumes).
func openLDAP(path, bindPassword string, log *slog.Logger) (ldapDirectory, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return ldapDirectory{}, err
	}
	var f LDAPFile
	if err := json.Unmarshal(b, &f); err != nil {
		return ldapDirectory{}, fmt.Errorf("%s: %w", path, err)
	}
	cfg := ldap.Config{URL: f.URL, StartTLS: f.StartTLS, BindDN: f.BindDN, BindPassword: bindPassword,
		BaseDN: f.BaseDN, UserFilter: f.UserFilter, UserAttr: f.UserAttr, GroupBaseDN: f.GroupBaseDN,
		GroupFilter: f.GroupFilter, GroupMemberAttr: f.GroupMemberAttr, GroupNameAttr: f.GroupNameAttr,
		Nested: ldap.NestedMode(f.Nested), Timeout: time.Duration(f.TimeoutSeconds) * time.Second}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return ldapDirectory{}, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return ldapDirectory{}, fmt.Errorf("%s: no certificates in %s", path, f.CAFile)
		}
		cfg.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	a, err := ldap.New(cfg, ldap.WithLogger(log))
	if err != nil {
		return ldapDirectory{}, fmt.Errorf("%s: %w", path, err)
	}
	return ldapDirectory{a}, nil
}

// ldapDirectory adapts ldap.Authenticator to auth.ExternalAuthenticator.
// Groups are bound in projects as "group:<DN>".
type ldapDirectory struct{ a *ldap.Authenticator }

func (d ldapDirectory) Authenticate(ctx context.Context, username, password string) (*auth.ExternalIdentity, error) {
	id, err := d.a.Authenticate(ctx, username, password)
	switch {
	case errors.Is(err, ldap.ErrInvalidCredentials) || errors.Is(err, ldap.ErrAmbiguousUser):
		return nil, fmt.Errorf("%w: %v", auth.ErrInvalidCredentials, err)
	case errors.Is(err, ldap.ErrUnavailable):
		return nil, fmt.Errorf("%w: %v", auth.ErrUnavailable, err)
	case err != nil:
		return nil, err
	}
	x := &auth.ExternalIdentity{Username: id.Username, Email: id.Email, DisplayName: id.DisplayName, Source: auth.SourceLDAP}
	for _, g := range id.Groups {
		x.Groups = append(x.Groups, ldap.CanonicalDN(g.DN))
	}
	return x, nil
}
