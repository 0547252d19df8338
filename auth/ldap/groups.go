package ldap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

const (
	groupPageSize  = 500  // below Active Directory's MaxPageSize (1000)
	groupBatchSize = 32   // member DNs per OR filter in recursive expansion
	maxGroups      = 5000 // a user in more groups than this is refused
)

// searcher is the part of *goldap.Conn that group resolution needs (a fake
// directory implements it in tests).
type searcher interface {
	SearchWithPaging(req *goldap.SearchRequest, pagingSize uint32) (*goldap.SearchResult, error)
}

// inChain support learned by NestedAuto, shared by all logins.
const (
	inChainUnknown int32 = iota
	inChainUnsupported
)

// groupSet collects groups keyed by case-folded DN.
type groupSet map[string]Group

func dnKey(dn string) string { return strings.ToLower(dn) }

func (s groupSet) sorted() []Group {
	out := make([]Group, 0, len(s))
	for _, g := range s {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b Group) int { return strings.Compare(dnKey(a.DN), dnKey(b.DN)) })
	return out
}

// groups resolves the groups of the entry userDN according to Config.Nested.
func (a *Authenticator) groups(ctx context.Context, s searcher, userDN string) ([]Group, error) {
	direct, err := a.searchGroups(ctx, s, a.cfg.memberFilter([]string{userDN}))
	if err != nil {
		return nil, err
	}
	mode := a.cfg.Nested
	if mode == NestedOff {
		return direct.sorted(), nil
	}
	if mode == NestedInChain || (mode == NestedAuto && a.inChain.Load() != inChainUnsupported) {
		chain, err := a.inChainGroups(ctx, s, userDN, direct)
		if err == nil {
			return chain.sorted(), nil
		}
		if mode == NestedInChain || !errors.Is(err, ErrInChainUnsupported) {
			return nil, err
		}
		a.inChain.Store(inChainUnsupported)
		a.log.Info("ldap: server does not evaluate the in-chain matching rule; expanding nested groups recursively from now on",
			"rule", InChainOID, "cause", err)
	}
	all, err := a.expand(ctx, s, direct)
	if err != nil {
		return nil, err
	}
	return all.sorted(), nil
}

// inChainGroups asks the server for the transitive closure. A server that
// does not know the rule may reject the filter, or (OpenLDAP) evaluate it
// as Undefined and answer with no entries; since the closure must contain
// every direct group, a result missing one proves the rule unsupported.
func (a *Authenticator) inChainGroups(ctx context.Context, s searcher, userDN string, direct groupSet) (groupSet, error) {
	chain, err := a.searchGroups(ctx, s, a.cfg.inChainFilter(userDN))
	if err != nil {
		// Codes with which servers refuse an unknown matching rule.
		if goldap.IsErrorAnyOf(err, goldap.LDAPResultProtocolError, goldap.LDAPResultUndefinedAttributeType,
			goldap.LDAPResultInappropriateMatching, goldap.LDAPResultUnwillingToPerform) {
			return nil, fmt.Errorf("%w: %w", ErrInChainUnsupported, err)
		}
		return nil, err
	}
	for key, g := range direct {
		if _, ok := chain[key]; !ok {
			return nil, fmt.Errorf("%w: the in-chain search for %q omitted its direct group %q",
				ErrInChainUnsupported, userDN, g.DN)
		}
	}
	return chain, nil
}

// expand adds, level by level, the groups that contain groups already
// found. Each group is searched for once, so cycles end; MaxDepth bounds
// the levels (the direct groups are level 1).
func (a *Authenticator) expand(ctx context.Context, s searcher, direct groupSet) (groupSet, error) {
	found := make(groupSet, len(direct))
	frontier := make([]string, 0, len(direct))
	for key, g := range direct {
		found[key] = g
		frontier = append(frontier, g.DN)
	}
	slices.Sort(frontier) // deterministic queries
	for depth := 1; len(frontier) > 0; depth++ {
		if depth >= a.cfg.MaxDepth {
			a.log.Warn("ldap: nested group expansion stopped at MaxDepth; deeper groups are ignored",
				"max_depth", a.cfg.MaxDepth, "unexpanded", len(frontier))
			break
		}
		var next []string
		for batch := range slices.Chunk(frontier, groupBatchSize) {
			parents, err := a.searchGroups(ctx, s, a.cfg.memberFilter(batch))
			if err != nil {
				return nil, err
			}
			for key, g := range parents {
				if _, seen := found[key]; seen {
					continue
				}
				found[key] = g
				next = append(next, g.DN)
			}
			if len(found) > maxGroups {
				return nil, fmt.Errorf("ldap: user is in more than %d groups", maxGroups)
			}
		}
		slices.Sort(next)
		frontier = next
	}
	return found, nil
}

// searchGroups runs one paged group search.
func (a *Authenticator) searchGroups(ctx context.Context, s searcher, filter string) (groupSet, error) {
	req := goldap.NewSearchRequest(a.cfg.GroupBaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		0, a.timeLimit(), false, filter, []string{a.cfg.GroupNameAttr}, nil)
	res, err := s.SearchWithPaging(req, groupPageSize)
	if err != nil {
		return nil, a.fail(ctx, "group search", connLost(s, err))
	}
	if len(res.Entries) > maxGroups {
		return nil, fmt.Errorf("ldap: group search returned more than %d groups", maxGroups)
	}
	set := make(groupSet, len(res.Entries))
	for _, e := range res.Entries {
		set[dnKey(e.DN)] = Group{DN: e.DN, Name: groupName(e, a.cfg.GroupNameAttr)}
	}
	return set, nil
}

// groupName is the group's name attribute, else its first RDN's value.
func groupName(e *goldap.Entry, attr string) string {
	if name := e.GetEqualFoldAttributeValue(attr); name != "" {
		return name
	}
	if dn, err := goldap.ParseDN(e.DN); err == nil && len(dn.RDNs) > 0 && len(dn.RDNs[0].Attributes) > 0 {
		return dn.RDNs[0].Attributes[0].Value
	}
	return e.DN
}
