package ldap

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync/atomic"

	goldap "github.com/go-ldap/ldap/v3"
)

// Limits on what Authenticate sends to the server at all.
const (
	maxUsernameLen = 256
	maxPasswordLen = 1024
)

// Identity is who logged in, as the directory describes them.
type Identity struct {
	// Username is the login attribute's value as stored in the directory
	// (its canonical spelling, e.g. "alice" when "Alice" was typed).
	Username    string
	DN          string
	Email       string
	DisplayName string
	// Groups are the user's groups, direct and (per Config.Nested)
	// nested, sorted by DN.
	Groups []Group
}

// Group is a directory group the user belongs to.
type Group struct {
	DN   string // full DN: bind roles to "group:" + DN
	Name string // Config.GroupNameAttr (cn), for display
}

// Authenticator checks passwords against an LDAP server or Active
// Directory. It is safe for concurrent use.
type Authenticator struct {
	cfg       Config
	ep        endpoint
	tlsConfig *tls.Config
	dial      func(ctx context.Context, network, address string) (net.Conn, error)
	log       *slog.Logger
	slots     chan struct{}
	inChain   atomic.Int32 // what NestedAuto learned about the server
}

// Option configures an Authenticator.
type Option func(*Authenticator)

// WithLogger sets the logger for operator-facing notes (in-chain fallback,
// MaxDepth reached). Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(a *Authenticator) {
		if l != nil {
			a.log = l
		}
	}
}

// WithDialer replaces the TCP dialer (a proxy, a custom resolver, tests).
// TLS is layered on top of the returned connection as configured.
func WithDialer(dial func(ctx context.Context, network, address string) (net.Conn, error)) Option {
	return func(a *Authenticator) {
		if dial != nil {
			a.dial = dial
		}
	}
}

// New validates cfg (after defaults) and returns an Authenticator. It does
// not contact the server; call Ping for that.
func New(cfg Config, opts ...Option) (*Authenticator, error) {
	cfg = cfg.withDefaults()
	ep, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	a := &Authenticator{
		cfg:   cfg,
		ep:    ep,
		dial:  (&net.Dialer{}).DialContext,
		log:   slog.New(slog.DiscardHandler),
		slots: make(chan struct{}, cfg.MaxConnections),
	}
	if ep.tls || cfg.StartTLS {
		a.tlsConfig = cfg.tlsConfig(ep.host)
	}
	for _, opt := range opts {
		opt(a)
	}
	return a, nil
}

// Authenticate checks username and password and returns the user's
// identity and groups. A wrong password, an unknown user and an empty
// password all give ErrInvalidCredentials; an unreachable server gives
// ErrUnavailable.
//
// Steps, on one connection: bind as the service account (or stay
// anonymous), search (&<UserFilter>(<UserAttr>=<escaped username>)) under
// BaseDN and require exactly one entry, bind as that entry's DN with the
// password, bind back as the service account and resolve groups.
func (a *Authenticator) Authenticate(ctx context.Context, username, password string) (*Identity, error) {
	// An empty password would make the bind an unauthenticated bind, which
	// servers accept: refuse it before talking to the server at all.
	if username == "" || password == "" || len(username) > maxUsernameLen || len(password) > maxPasswordLen {
		return nil, ErrInvalidCredentials
	}
	c, err := a.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer c.close()
	if err := a.bindService(ctx, c); err != nil {
		return nil, err
	}
	entry, err := a.findUser(ctx, c, username)
	if err != nil {
		return nil, err
	}
	if entry == nil {
		// Spend a bind round trip as a wrong password would, so that an
		// unknown user does not answer noticeably faster.
		_ = c.Bind(a.decoyDN(), password)
		return nil, ErrInvalidCredentials
	}
	if err := c.Bind(entry.DN, password); err != nil {
		if isBadPassword(err) {
			// The diagnostic tells an operator why (Active Directory: "data
			// 775" locked, "data 532" expired...); the caller never sees it.
			a.log.Debug("ldap: user bind refused", "dn", entry.DN, "cause", err)
			return nil, ErrInvalidCredentials
		}
		return nil, a.fail(ctx, "bind as user", connLost(c, err))
	}
	if err := a.bindService(ctx, c); err != nil {
		return nil, err
	}
	groups, err := a.groups(ctx, c, entry.DN)
	if err != nil {
		return nil, err
	}
	return &Identity{
		Username:    loginName(entry, a.cfg.UserAttr, username),
		DN:          entry.DN,
		Email:       entry.GetEqualFoldAttributeValue(a.cfg.EmailAttr),
		DisplayName: entry.GetEqualFoldAttributeValue(a.cfg.DisplayNameAttr),
		Groups:      groups,
	}, nil
}

// Ping checks that the server answers and accepts the service account
// (anonymous: that it answers a root DSE read). For health checks.
func (a *Authenticator) Ping(ctx context.Context) error {
	c, err := a.connect(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	if a.cfg.BindDN != "" {
		return a.bindService(ctx, c)
	}
	req := goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, a.timeLimit(), false,
		"(objectClass=*)", []string{"supportedLDAPVersion"}, nil)
	if _, err := c.Search(req); err != nil {
		return a.fail(ctx, "read root DSE", connLost(c, err))
	}
	return nil
}

// bindService binds as the service account, or anonymously without one.
func (a *Authenticator) bindService(ctx context.Context, c *conn) error {
	var err error
	if a.cfg.BindDN == "" {
		err = c.UnauthenticatedBind("")
	} else {
		err = c.Bind(a.cfg.BindDN, a.cfg.BindPassword)
	}
	if err != nil {
		// Never ErrInvalidCredentials: the service account is not the user.
		return a.fail(ctx, fmt.Sprintf("bind as service account %q", a.cfg.BindDN), connLost(c, err))
	}
	return nil
}

// findUser returns the one entry username designates, or nil if none does.
func (a *Authenticator) findUser(ctx context.Context, c *conn, username string) (*goldap.Entry, error) {
	req := goldap.NewSearchRequest(a.cfg.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		2, a.timeLimit(), false, a.cfg.userFilter(username),
		[]string{a.cfg.UserAttr, a.cfg.EmailAttr, a.cfg.DisplayNameAttr}, nil)
	res, err := c.Search(req)
	ambiguous := res != nil && len(res.Entries) > 1
	if err != nil && !(ambiguous && goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded)) {
		return nil, a.fail(ctx, "user search", connLost(c, err))
	}
	switch {
	case ambiguous:
		return nil, fmt.Errorf("%w: %s=%q under %q matches %s and %s",
			ErrAmbiguousUser, a.cfg.UserAttr, username, a.cfg.BaseDN, res.Entries[0].DN, res.Entries[1].DN)
	case len(res.Entries) == 0:
		return nil, nil
	case res.Entries[0].DN == "":
		// Binding an empty name is anonymous on some servers, whatever the password.
		return nil, fmt.Errorf("ldap: user search for %q returned an entry without a DN", username)
	}
	return res.Entries[0], nil
}

// decoyDN names no entry; binding to it fails like a wrong password.
func (a *Authenticator) decoyDN() string {
	return "cn=berth-no-such-user," + a.cfg.BaseDN
}

// timeLimit is Timeout in whole seconds for the server's own time limit.
func (a *Authenticator) timeLimit() int {
	return int(math.Ceil(a.cfg.Timeout.Seconds()))
}

// loginName picks the login attribute's value that was typed (attributes
// may hold several), in the directory's spelling.
func loginName(e *goldap.Entry, attr, typed string) string {
	values := e.GetEqualFoldAttributeValues(attr)
	for _, v := range values {
		if strings.EqualFold(v, typed) {
			return v
		}
	}
	if len(values) > 0 {
		return values[0]
	}
	return typed
}
