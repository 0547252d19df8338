package api

import (
	"context"
	"time"

	"github.com/berthlabs/berth/auth"
)

// OIDCUsers reads what the OIDC login keeps of a user, for the user's
// own /users/current; the server adapts *oidc.Service (auth/oidc) to it.
type OIDCUsers interface {
	// OIDCUser returns username's OIDC record and CLI secret; ok is false
	// for a user who has not logged in through OIDC.
	OIDCUser(ctx context.Context, username string) (rec OIDCUserRecord, ok bool, err error)
}

// OIDCUserRecord is what the OIDC login keeps of a user.
type OIDCUserRecord struct {
	Issuer, Subject string // of the user's ID token
	Secret          string // the CLI secret
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// WithOIDCUsers shows an OIDC user their own OIDC record with the CLI
// secret in GET /users/current (oidc_user_meta), as Harbor does.
func WithOIDCUsers(o OIDCUsers) Option { return func(c *config) { c.oidcUsers = o } }

// OIDCUserInfo is a user's OIDC record as Harbor shows it in
// /users/current.
type OIDCUserInfo struct {
	ID           int64     `json:"id" doc:"The record's id: berth keeps one OIDC record per user, so it is the user's id"`
	UserID       int64     `json:"user_id"`
	Subiss       string    `json:"subiss" doc:"The ID token's subject followed by its issuer"`
	Secret       string    `json:"secret" doc:"The CLI secret: the password for docker login and the API's basic auth"`
	CreationTime time.Time `json:"creation_time"`
	UpdateTime   time.Time `json:"update_time"`
}

// oidcUserMeta is u's OIDC record, shown to u only (the caller of
// /users/current); nil when u does not log in through OIDC.
func (a *API) oidcUserMeta(c *call, u *auth.User) (*OIDCUserInfo, error) {
	if a.cfg.oidcUsers == nil || u.Name != c.p.Name {
		return nil, nil
	}
	rec, ok, err := a.cfg.oidcUsers.OIDCUser(c.ctx(), u.Name)
	if err != nil || !ok {
		return nil, err
	}
	return &OIDCUserInfo{ID: u.ID, UserID: u.ID, Subiss: rec.Subject + rec.Issuer, Secret: rec.Secret,
		CreationTime: rec.CreatedAt, UpdateTime: rec.UpdatedAt}, nil
}
