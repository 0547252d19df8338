package ldap

import (
	"errors"
	"strings"
	"sync"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
)

// fakeDir is an in-memory directory of groups that evaluates the filters
// this package sends (and, unlike OpenLDAP, Active Directory's in-chain
// matching rule), so that group resolution can be tested without a server
// and in every mode a real server may behave in.
type fakeDir struct {
	inChain       inChainBehaviour
	groups        map[string][]string // group DN → member DNs
	mu            sync.Mutex
	queries       []string
	failOnFilter  string // a filter containing this fails with failErr
	failErr       error
	objectClasses []string
}

type inChainBehaviour int

const (
	inChainEvaluated inChainBehaviour = iota // Active Directory
	inChainUndefined                         // OpenLDAP: unknown rule is Undefined, no error
	inChainRejected                          // a server that refuses the filter
)

func newFakeDir(mode inChainBehaviour, groups map[string][]string) *fakeDir {
	return &fakeDir{inChain: mode, groups: groups, objectClasses: []string{"groupOfNames"}}
}

func (d *fakeDir) Queries() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.queries...)
}

func (d *fakeDir) SearchWithPaging(req *goldap.SearchRequest, _ uint32) (*goldap.SearchResult, error) {
	d.mu.Lock()
	d.queries = append(d.queries, req.Filter)
	d.mu.Unlock()
	if d.failOnFilter != "" && strings.Contains(req.Filter, d.failOnFilter) {
		return nil, d.failErr
	}
	filter, err := goldap.CompileFilter(req.Filter)
	if err != nil {
		return nil, goldap.NewError(goldap.LDAPResultProtocolError, err)
	}
	res := &goldap.SearchResult{}
	for dn := range d.groups {
		ok, err := d.match(filter, dn)
		if err != nil {
			return nil, err
		}
		if ok {
			cn := strings.TrimPrefix(strings.SplitN(dn, ",", 2)[0], "cn=")
			res.Entries = append(res.Entries, goldap.NewEntry(dn, map[string][]string{"cn": {cn}}))
		}
	}
	return res, nil
}

func (d *fakeDir) match(f *ber.Packet, dn string) (bool, error) {
	switch f.Tag {
	case goldap.FilterAnd, goldap.FilterOr:
		for _, c := range f.Children {
			ok, err := d.match(c, dn)
			if err != nil {
				return false, err
			}
			if ok == (f.Tag == goldap.FilterOr) {
				return ok, nil
			}
		}
		return f.Tag == goldap.FilterAnd, nil
	case goldap.FilterEqualityMatch:
		attr, value := strings.ToLower(f.Children[0].Data.String()), f.Children[1].Data.String()
		switch attr {
		case "objectclass":
			for _, oc := range d.objectClasses {
				if strings.EqualFold(oc, value) {
					return true, nil
				}
			}
			return false, nil
		case "member":
			for _, m := range d.groups[dn] {
				if strings.EqualFold(m, value) {
					return true, nil
				}
			}
			return false, nil
		}
		return false, nil
	case goldap.FilterExtensibleMatch:
		fields := map[ber.Tag]string{}
		for _, c := range f.Children {
			fields[c.Tag] = c.Data.String()
		}
		if fields[1] != InChainOID || !strings.EqualFold(fields[2], "member") {
			return false, errors.New("fakeDir: unexpected extensible match")
		}
		switch d.inChain {
		case inChainUndefined:
			return false, nil
		case inChainRejected:
			return false, goldap.NewError(goldap.LDAPResultInappropriateMatching, errors.New("matching rule not recognized"))
		}
		return d.transitivelyContains(dn, fields[3], map[string]bool{}), nil
	}
	return false, errors.New("fakeDir: unsupported filter")
}

func (d *fakeDir) transitivelyContains(group, member string, seen map[string]bool) bool {
	key := strings.ToLower(group)
	if seen[key] {
		return false
	}
	seen[key] = true
	for _, m := range d.groups[group] {
		if strings.EqualFold(m, member) || d.transitivelyContains(m, member, seen) {
			return true
		}
	}
	return false
}
