package ldap

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// NestedMode selects how groups that contain the user's groups are found.
type NestedMode string

const (
	// NestedAuto (the default) asks the server for the transitive closure
	// with the in-chain matching rule and, when the server does not
	// evaluate that rule (OpenLDAP, 389-ds without it, ...), falls back to
	// NestedRecursive and remembers that for later logins.
	NestedAuto NestedMode = "auto"
	// NestedOff returns only the groups that list the user directly.
	NestedOff NestedMode = "off"
	// NestedInChain uses Active Directory's LDAP_MATCHING_RULE_IN_CHAIN
	// ((member:1.2.840.113556.1.4.1941:=<userDN>)): one search, evaluated
	// by the server. A server that ignores the rule yields
	// ErrInChainUnsupported instead of a silently incomplete group list.
	NestedInChain NestedMode = "in-chain"
	// NestedRecursive expands groups with one search per nesting level,
	// with cycle detection, down to Config.MaxDepth levels.
	NestedRecursive NestedMode = "recursive"
)

// InChainOID is Active Directory's LDAP_MATCHING_RULE_IN_CHAIN.
const InChainOID = "1.2.840.113556.1.4.1941"

// Defaults applied by New to zero fields of Config.
const (
	DefaultUserFilter      = "(objectClass=person)"
	DefaultUserAttr        = "uid"
	DefaultEmailAttr       = "mail"
	DefaultDisplayNameAttr = "displayName"
	DefaultGroupFilter     = "(|(objectClass=groupOfNames)(objectClass=group))"
	DefaultGroupMemberAttr = "member"
	DefaultGroupNameAttr   = "cn"
	DefaultMaxDepth        = 10
	DefaultTimeout         = 10 * time.Second
	DefaultMaxConnections  = 16
)

// Config describes the directory. Zero fields take the defaults above;
// New validates the result. For Active Directory typically:
//
//	UserFilter: "(&(objectCategory=person)(objectClass=user))",
//	UserAttr:   "sAMAccountName",  // or "userPrincipalName"
//	GroupFilter: "(objectClass=group)",
type Config struct {
	// URL is ldap://host[:port] (default port 389) or ldaps://host[:port]
	// (636). Plain ldap:// without StartTLS sends passwords in clear text.
	URL string
	// StartTLS upgrades an ldap:// connection to TLS before any bind.
	StartTLS bool
	// TLS configures ldaps:// and StartTLS: RootCAs (nil: the system
	// pool), ServerName (empty: the URL's host). It is cloned; certificate
	// verification stays on unless the caller sets InsecureSkipVerify.
	TLS *tls.Config

	// BindDN and BindPassword are the service account used to search for
	// users and groups. Both empty: anonymous search.
	BindDN       string
	BindPassword string

	// BaseDN is where users are searched (whole subtree). Required.
	BaseDN string
	// UserFilter restricts the entries that may log in (an LDAP filter in
	// parentheses). The search is (&<UserFilter>(<UserAttr>=<username>))
	// with the username escaped.
	UserFilter string
	// UserAttr is the login attribute: uid (OpenLDAP), sAMAccountName (AD).
	UserAttr string
	// EmailAttr and DisplayNameAttr fill Identity.Email and DisplayName.
	EmailAttr       string
	DisplayNameAttr string

	// GroupBaseDN is where groups are searched (default BaseDN).
	GroupBaseDN string
	// GroupFilter selects group entries, e.g. (objectClass=groupOfNames).
	GroupFilter string
	// GroupMemberAttr holds member DNs in a group (member; uniqueMember
	// for groupOfUniqueNames).
	GroupMemberAttr string
	// GroupNameAttr is the group's short name (cn).
	GroupNameAttr string
	// Nested selects nested-group resolution (default NestedAuto).
	Nested NestedMode
	// MaxDepth bounds recursive expansion: 1 = direct groups only;
	// default 10. Deeper groups are left out (and logged), never guessed.
	MaxDepth int

	// Timeout bounds each network step: connect, TLS handshake and each
	// LDAP request (default 10s). The whole call is bounded by its context.
	Timeout time.Duration
	// MaxConnections bounds concurrent connections to the server. There is
	// no pool: each Authenticate and Ping dials its own connection and
	// closes it, which is simple and plenty for logins (tokens carry the
	// identity afterwards). Callers beyond the bound wait for a slot
	// within their context. Default 16.
	MaxConnections int
}

var attrName = regexp.MustCompile(`^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)$`)

// withDefaults returns a copy with zero fields defaulted.
func (c Config) withDefaults() Config {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.UserFilter, DefaultUserFilter)
	def(&c.UserAttr, DefaultUserAttr)
	def(&c.EmailAttr, DefaultEmailAttr)
	def(&c.DisplayNameAttr, DefaultDisplayNameAttr)
	def(&c.GroupBaseDN, c.BaseDN)
	def(&c.GroupFilter, DefaultGroupFilter)
	def(&c.GroupMemberAttr, DefaultGroupMemberAttr)
	def(&c.GroupNameAttr, DefaultGroupNameAttr)
	if c.Nested == "" {
		c.Nested = NestedAuto
	}
	if c.MaxDepth == 0 {
		c.MaxDepth = DefaultMaxDepth
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	return c
}

// endpoint is the validated address to dial.
type endpoint struct {
	addr string // host:port
	tls  bool   // ldaps://
	host string
}

// validate checks a defaulted Config and returns where to connect.
func (c Config) validate() (endpoint, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	ep, err := parseURL(c.URL)
	if err != nil {
		bad("%w", err)
	}
	if c.StartTLS && ep.tls {
		bad("StartTLS with an ldaps:// URL: the connection is already TLS")
	}
	if (c.BindDN == "") != (c.BindPassword == "") {
		bad("BindDN and BindPassword must be set together (an empty password is an unauthenticated bind)")
	}
	for _, dn := range []struct{ name, value string }{{"BindDN", c.BindDN}, {"BaseDN", c.BaseDN}, {"GroupBaseDN", c.GroupBaseDN}} {
		if dn.value == "" {
			if dn.name != "BindDN" {
				bad("%s is required", dn.name)
			}
			continue
		}
		if _, err := goldap.ParseDN(dn.value); err != nil {
			bad("%s %q: %v", dn.name, dn.value, err)
		}
	}
	for _, f := range []struct{ name, value string }{{"UserFilter", c.UserFilter}, {"GroupFilter", c.GroupFilter}} {
		if !strings.HasPrefix(f.value, "(") {
			bad("%s %q must be enclosed in parentheses", f.name, f.value)
		} else if _, err := goldap.CompileFilter(f.value); err != nil {
			bad("%s %q: %v", f.name, f.value, err)
		}
	}
	for _, a := range []struct{ name, value string }{{"UserAttr", c.UserAttr}, {"EmailAttr", c.EmailAttr},
		{"DisplayNameAttr", c.DisplayNameAttr}, {"GroupMemberAttr", c.GroupMemberAttr}, {"GroupNameAttr", c.GroupNameAttr}} {
		if !attrName.MatchString(a.value) {
			bad("%s %q is not an attribute name", a.name, a.value)
		}
	}
	switch c.Nested {
	case NestedAuto, NestedOff, NestedInChain, NestedRecursive:
	default:
		bad("Nested %q: want %q, %q, %q or %q", c.Nested, NestedAuto, NestedOff, NestedInChain, NestedRecursive)
	}
	if c.MaxDepth < 1 {
		bad("MaxDepth %d must be at least 1", c.MaxDepth)
	}
	if c.Timeout < 0 {
		bad("Timeout %v is negative", c.Timeout)
	}
	if c.MaxConnections < 1 {
		bad("MaxConnections %d must be at least 1", c.MaxConnections)
	}
	if err := errors.Join(errs...); err != nil {
		return endpoint{}, fmt.Errorf("ldap: invalid config: %w", err)
	}
	return ep, nil
}

func parseURL(raw string) (endpoint, error) {
	if raw == "" {
		return endpoint{}, errors.New("URL is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("URL: %w", err)
	}
	var ep endpoint
	port := u.Port()
	switch strings.ToLower(u.Scheme) {
	case "ldap":
		if port == "" {
			port = goldap.DefaultLdapPort
		}
	case "ldaps":
		ep.tls = true
		if port == "" {
			port = goldap.DefaultLdapsPort
		}
	default:
		return endpoint{}, fmt.Errorf("URL %q: scheme must be ldap:// or ldaps://", raw)
	}
	ep.host = u.Hostname()
	if ep.host == "" {
		return endpoint{}, fmt.Errorf("URL %q has no host", raw)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return endpoint{}, fmt.Errorf("URL %q: only scheme, host and port are used; put the base DN in BaseDN", raw)
	}
	ep.addr = net.JoinHostPort(ep.host, port)
	return ep, nil
}

// tlsConfig returns the TLS configuration to use with host.
func (c Config) tlsConfig(host string) *tls.Config {
	var cfg *tls.Config
	if c.TLS != nil {
		cfg = c.TLS.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	return cfg
}
