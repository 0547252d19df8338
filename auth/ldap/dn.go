package ldap

import (
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// CanonicalDN spells a DN one way for exact-match comparisons, such as
// rbac's "group:<DN>" subjects: attribute types and values lower-cased (the
// naming attributes of users and groups compare case-insensitively on
// OpenLDAP and Active Directory), no spaces around separators, RFC 4514
// escaping, multi-valued RDNs sorted. So
// "CN=Devs, OU=Groups,DC=Corp" and "cn=devs,ou=groups,dc=corp" agree.
// A string that does not parse as a DN is only trimmed and lower-cased.
func CanonicalDN(dn string) string {
	parsed, err := goldap.ParseDN(dn)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(dn))
	}
	for _, rdn := range parsed.RDNs {
		for _, atv := range rdn.Attributes {
			atv.Value = strings.ToLower(atv.Value)
		}
	}
	return parsed.String()
}
