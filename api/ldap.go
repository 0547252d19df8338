package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/auth/ldap"
	"github.com/berthlabs/berth/rbac"
)

// Directory is the LDAP directory users log in against, as the /ldap
// endpoints and LDAP user groups use it; *ldap.Authenticator implements
// it.
type Directory interface {
	Ping(ctx context.Context) error
	SearchUsers(ctx context.Context, substr string) ([]ldap.User, error)
	LookupUser(ctx context.Context, username string) (*ldap.User, error)
	SearchGroups(ctx context.Context, name string) ([]ldap.Group, error)
	GroupByDN(ctx context.Context, dn string) (*ldap.Group, error)
	With(modify func(*ldap.Config)) (*ldap.Authenticator, error)
}

// WithLDAP serves the /ldap endpoints (system admins: ping, user and group
// search, user import) over the directory users log in against, and lets
// LDAP user groups be checked against it. Without it they answer 400
// "LDAP is not configured".
func WithLDAP(d Directory) Option { return func(c *config) { c.ldap = d } }

// Bounds of the /ldap endpoints.
const (
	ldapPingTimeout = 15 * time.Second // a whole ping, whatever the configuration says
	maxLDAPImport   = 100              // uids per import
)

// directoryRoutes are the Ldap and usergroup groups.
func (a *API) directoryRoutes() []route { return append(a.ldapRoutes(), a.userGroupRoutes()...) }

func (a *API) ldapRoutes() []route {
	get, post := http.MethodGet, http.MethodPost
	return []route{
		{method: post, path: "/ldap/ping", id: "pingLdap", tag: "Ldap",
			summary: "Bind to the directory as configured, or with the settings sent (system admins); never echoes the password",
			body:    LdapConf{}, resp: LdapPingResult{}, handle: a.pingLDAP},
		{method: get, path: "/ldap/users/search", id: "searchLdapUser", tag: "Ldap",
			summary: "Directory users whose login name contains username, at most 100 (system admins)",
			query:   []param{{"username", "string", "Part of a login name; empty for any", false}},
			resp:    []LdapUser{}, handle: a.searchLDAPUsers},
		{method: post, path: "/ldap/users/import", id: "importLdapUser", tag: "Ldap",
			summary: "Add directory users as berth users, as their first login would (system admins); 404 lists those that failed",
			body:    LdapImportUsers{}, resp: []LdapFailedImportUser{}, handle: a.importLDAPUsers},
		{method: get, path: "/ldap/groups/search", id: "searchLdapGroup", tag: "Ldap",
			summary: "Directory groups named groupname, or the group at groupdn (system admins)",
			query: []param{{"groupname", "string", "The group's name (cn), matched exactly", false},
				{"groupdn", "string", "The group's DN", false}},
			resp: []UserGroup{}, handle: a.searchLDAPGroups},
	}
}

// directory checks the caller is a system admin and a directory is
// configured.
func (c *call) directory(act rbac.Action) (Directory, error) {
	if err := c.requireAdmin(permOn("ldap-user", act)); err != nil {
		return nil, err
	}
	if c.a.cfg.ldap == nil {
		return nil, errNoLDAP()
	}
	return c.a.cfg.ldap, nil
}

func errNoLDAP() error {
	return badRequest("LDAP is not configured on this server: set ldap.config to use the directory")
}

// ldapError answers the directory's failures that callers can act on.
func ldapError(err error) error {
	switch {
	case errors.Is(err, ldap.ErrUnavailable), errors.Is(err, ldap.ErrTLS):
		return &apiError{http.StatusServiceUnavailable, codeUnavailable, "the LDAP server is unavailable: " + err.Error()}
	case errors.Is(err, ldap.ErrInvalidDN):
		return badRequest(err.Error())
	}
	return err
}

func (a *API) pingLDAP(c *call) error {
	dir, err := c.directory(rbac.ActionRead)
	if err != nil {
		return err
	}
	var conf LdapConf
	if err := decodeBody(c.w, c.r, &conf); err != nil && !isEmptyBody(err) {
		return err
	}
	if conf.LdapConnectionTimeout < 0 || conf.LdapConnectionTimeout > int64(ldapPingTimeout/time.Second) {
		return badRequest(fmt.Sprintf("ldap_connection_timeout %d: want 1 to %d seconds", conf.LdapConnectionTimeout, ldapPingTimeout/time.Second))
	}
	trial, err := dir.With(conf.apply)
	if err != nil {
		return badRequest(err.Error())
	}
	ctx, cancel := context.WithTimeout(c.ctx(), ldapPingTimeout)
	defer cancel()
	if err := trial.Ping(ctx); err != nil {
		return c.json(http.StatusOK, LdapPingResult{Message: err.Error()})
	}
	return c.json(http.StatusOK, LdapPingResult{Success: true})
}

// apply lays the fields sent over the configuration. The configured
// password is kept only while the URL and the search DN are the
// configured ones: it is never sent to another server or for another
// account.
func (conf LdapConf) apply(c *ldap.Config) {
	keepPassword := true
	if u := strings.TrimSpace(conf.LdapURL); u != "" {
		if !strings.Contains(u, "://") {
			u = "ldap://" + u
		}
		keepPassword = keepPassword && u == c.URL
		c.URL = u
	}
	if dn := strings.TrimSpace(conf.LdapSearchDn); dn != "" {
		keepPassword = keepPassword && strings.EqualFold(dn, c.BindDN)
		c.BindDN = dn
	}
	switch {
	case conf.LdapSearchPassword != "":
		c.BindPassword = conf.LdapSearchPassword
	case !keepPassword:
		c.BindPassword = ""
	}
	if conf.LdapBaseDn != "" {
		c.BaseDN = conf.LdapBaseDn
	}
	if f := strings.TrimSpace(conf.LdapFilter); f != "" {
		if !strings.HasPrefix(f, "(") {
			f = "(" + f + ")" // Harbor accepts a filter without its parentheses
		}
		c.UserFilter = f
	}
	if conf.LdapUID != "" {
		c.UserAttr = conf.LdapUID
	}
	if conf.LdapConnectionTimeout > 0 {
		c.Timeout = time.Duration(conf.LdapConnectionTimeout) * time.Second
	}
	c.Timeout = min(c.Timeout, ldapPingTimeout)
	if conf.LdapVerifyCert != nil && !*conf.LdapVerifyCert {
		t := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.TLS != nil {
			t = c.TLS.Clone()
		}
		// An administrator's explicit choice, for this ping only.
		t.InsecureSkipVerify = true //nolint:gosec
		c.TLS = t
	}
}

func (a *API) searchLDAPUsers(c *call) error {
	dir, err := c.directory(rbac.ActionList)
	if err != nil {
		return err
	}
	users, err := dir.SearchUsers(c.ctx(), strings.TrimSpace(c.r.URL.Query().Get("username")))
	if err != nil {
		return ldapError(err)
	}
	out := make([]LdapUser, 0, len(users))
	for _, u := range users {
		out = append(out, LdapUser{Username: u.Username, Realname: u.DisplayName, Email: u.Email})
	}
	return c.json(http.StatusOK, out)
}

func (a *API) searchLDAPGroups(c *call) error {
	dir, err := c.directory(rbac.ActionList)
	if err != nil {
		return err
	}
	q := c.r.URL.Query()
	name, dn := strings.TrimSpace(q.Get("groupname")), strings.TrimSpace(q.Get("groupdn"))
	var groups []ldap.Group
	switch {
	case name != "" && dn != "":
		return badRequest("give groupname or groupdn, not both")
	case dn != "":
		g, err := dir.GroupByDN(c.ctx(), dn)
		if err != nil {
			return ldapError(err)
		}
		if g != nil {
			groups = append(groups, *g)
		}
	case name != "":
		if groups, err = dir.SearchGroups(c.ctx(), name); err != nil {
			return ldapError(err)
		}
	default:
		return badRequest("give groupname or groupdn")
	}
	out := make([]UserGroup, 0, len(groups))
	for _, g := range groups {
		out = append(out, UserGroup{GroupName: g.Name, GroupType: int(auth.GroupLDAP), LDAPGroupDN: a.canonicalDN(g.DN)})
	}
	return c.json(http.StatusOK, out)
}

// canonicalDN spells dn as memberships bind it (WithGroupDN).
func (a *API) canonicalDN(dn string) string {
	if a.cfg.groupDN != nil {
		return a.cfg.groupDN(dn)
	}
	return dn
}

func (a *API) importLDAPUsers(c *call) error {
	dir, err := c.directory(rbac.ActionCreate)
	if err != nil {
		return err
	}
	req, err := decodeAs[LdapImportUsers](c)
	if err != nil {
		return err
	}
	switch n := len(req.LdapUIDList); {
	case n == 0:
		return badRequest("ldap_uid_list is empty: name the users to import")
	case n > maxLDAPImport:
		return badRequest(fmt.Sprintf("ldap_uid_list has %d names; import at most %d at a time", n, maxLDAPImport))
	}
	failed := []LdapFailedImportUser{}
	for _, uid := range req.LdapUIDList {
		reason, err := a.importLDAPUser(c, dir, strings.TrimSpace(uid))
		if err != nil {
			return err
		}
		if reason != "" {
			failed = append(failed, LdapFailedImportUser{UID: uid, Error: reason})
		}
	}
	if len(failed) > 0 {
		return c.json(http.StatusNotFound, failed)
	}
	return c.ok()
}

// importLDAPUser onboards one directory user and returns why it could not,
// or an error that ends the whole import.
func (a *API) importLDAPUser(c *call, dir Directory, uid string) (string, error) {
	u, err := dir.LookupUser(c.ctx(), uid)
	switch {
	case errors.Is(err, ldap.ErrAmbiguousUser):
		return "more than one directory entry has this login name", nil
	case err != nil:
		return "", ldapError(err)
	case u == nil:
		return "not found in the directory", nil
	}
	_, err = a.deps.Users.Onboard(c.ctx(), u.Username, u.Email, u.DisplayName, auth.SourceLDAP)
	switch {
	case errors.Is(err, auth.ErrExists), errors.Is(err, auth.ErrInvalid):
		return err.Error(), nil
	case err != nil:
		return "", err
	}
	return "", nil
}
