package ldap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// MaxSearchResults bounds what SearchUsers and SearchGroups return: they
// serve people picking an entry, not directory exports.
const MaxSearchResults = 100

// ErrInvalidDN is returned by GroupByDN for a string that is not a DN.
var ErrInvalidDN = errors.New("ldap: not a valid DN")

// User is a directory user as a search finds it, before any login.
type User struct {
	Username    string // the login attribute's value
	DN          string
	Email       string
	DisplayName string
}

// SearchUsers returns the users (UserFilter under BaseDN) whose login
// attribute contains substr, every user for "", sorted by username: at
// most MaxSearchResults, the first the server returns.
func (a *Authenticator) SearchUsers(ctx context.Context, substr string) ([]User, error) {
	if len(substr) > maxUsernameLen {
		return []User{}, nil
	}
	pattern := "*"
	if substr != "" {
		pattern = "*" + goldap.EscapeFilter(substr) + "*"
	}
	filter := "(&" + a.cfg.UserFilter + "(" + a.cfg.UserAttr + "=" + pattern + "))"
	entries, err := a.search(ctx, a.cfg.BaseDN, goldap.ScopeWholeSubtree, filter,
		[]string{a.cfg.UserAttr, a.cfg.EmailAttr, a.cfg.DisplayNameAttr}, "user search")
	if err != nil {
		return nil, err
	}
	out := make([]User, 0, len(entries))
	for _, e := range entries {
		out = append(out, a.user(e, ""))
	}
	slices.SortFunc(out, func(x, y User) int { return strings.Compare(x.Username, y.Username) })
	return out, nil
}

// LookupUser returns the user whose login attribute is username, as a
// login would find them, or nil when there is none. Several entries are
// ErrAmbiguousUser.
func (a *Authenticator) LookupUser(ctx context.Context, username string) (*User, error) {
	if username == "" || len(username) > maxUsernameLen {
		return nil, nil
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
	if err != nil || entry == nil {
		return nil, err
	}
	u := a.user(entry, username)
	return &u, nil
}

func (a *Authenticator) user(e *goldap.Entry, typed string) User {
	name := loginName(e, a.cfg.UserAttr, typed)
	if typed == "" {
		name = e.GetEqualFoldAttributeValue(a.cfg.UserAttr)
	}
	return User{Username: name, DN: e.DN, Email: e.GetEqualFoldAttributeValue(a.cfg.EmailAttr),
		DisplayName: e.GetEqualFoldAttributeValue(a.cfg.DisplayNameAttr)}
}

// SearchGroups returns the groups (GroupFilter under GroupBaseDN) whose
// name attribute is name (matched as the server compares it: without case
// for cn), every group for "", sorted by DN: at most MaxSearchResults.
func (a *Authenticator) SearchGroups(ctx context.Context, name string) ([]Group, error) {
	if len(name) > maxUsernameLen {
		return []Group{}, nil
	}
	value := "*"
	if name != "" {
		value = goldap.EscapeFilter(name)
	}
	filter := "(&" + a.cfg.GroupFilter + "(" + a.cfg.GroupNameAttr + "=" + value + "))"
	entries, err := a.search(ctx, a.cfg.GroupBaseDN, goldap.ScopeWholeSubtree, filter, []string{a.cfg.GroupNameAttr}, "group search")
	if err != nil {
		return nil, err
	}
	set := make(groupSet, len(entries))
	for _, e := range entries {
		set[dnKey(e.DN)] = Group{DN: e.DN, Name: groupName(e, a.cfg.GroupNameAttr)}
	}
	return set.sorted(), nil
}

// GroupByDN returns the group entry at dn when it matches GroupFilter and
// lies under GroupBaseDN, or nil when it does not exist or is not such a
// group. A dn that does not parse is ErrInvalidDN.
func (a *Authenticator) GroupByDN(ctx context.Context, dn string) (*Group, error) {
	parsed, err := goldap.ParseDN(dn)
	if err != nil || len(parsed.RDNs) == 0 {
		return nil, fmt.Errorf("%w: %q", ErrInvalidDN, dn)
	}
	base, err := goldap.ParseDN(a.cfg.GroupBaseDN)
	if err != nil {
		return nil, err
	}
	if !base.AncestorOfFold(parsed) && !base.EqualFold(parsed) {
		return nil, nil
	}
	entries, err := a.search(ctx, dn, goldap.ScopeBaseObject, a.cfg.GroupFilter, []string{a.cfg.GroupNameAttr}, "group lookup")
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
		return nil, nil
	}
	if err != nil || len(entries) == 0 {
		return nil, err
	}
	return &Group{DN: entries[0].DN, Name: groupName(entries[0], a.cfg.GroupNameAttr)}, nil
}

// search binds as the service account and runs one search bounded by
// MaxSearchResults; a server that stops at the bound is not an error.
func (a *Authenticator) search(ctx context.Context, base string, scope int, filter string, attrs []string, step string) ([]*goldap.Entry, error) {
	c, err := a.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer c.close()
	if err := a.bindService(ctx, c); err != nil {
		return nil, err
	}
	req := goldap.NewSearchRequest(base, scope, goldap.NeverDerefAliases, MaxSearchResults, a.timeLimit(), false,
		filter, attrs, nil)
	res, err := c.Search(req)
	if err != nil && !(res != nil && goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded)) {
		return nil, a.fail(ctx, step, connLost(c, err))
	}
	if len(res.Entries) > MaxSearchResults {
		res.Entries = res.Entries[:MaxSearchResults]
	}
	return res.Entries, nil
}

// With returns a new Authenticator for this one's configuration as modify
// changes it (validated as New validates), with the same dialer and
// logger: to try settings, e.g. an administrator's before saving them,
// without disturbing logins. modify sees the configuration with defaults
// applied, including the bind password.
func (a *Authenticator) With(modify func(*Config)) (*Authenticator, error) {
	cfg := a.cfg
	if cfg.TLS != nil {
		cfg.TLS = cfg.TLS.Clone()
	}
	modify(&cfg)
	return New(cfg, WithDialer(a.dial), WithLogger(a.log))
}
