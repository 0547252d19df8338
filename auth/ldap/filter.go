package ldap

import (
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// Every value put into a filter goes through goldap.EscapeFilter, which
// writes '*', '(', ')', '\', NUL and non-ASCII bytes as \XX: a username
// such as "*)(uid=*" is matched literally, never as filter syntax.
// Attribute names and the configured filters are validated by New.

// userFilter finds the entry a login name designates.
func (c Config) userFilter(username string) string {
	return "(&" + c.UserFilter + "(" + c.UserAttr + "=" + goldap.EscapeFilter(username) + "))"
}

// memberFilter finds the groups that list any of dns as a member.
func (c Config) memberFilter(dns []string) string {
	var b strings.Builder
	b.WriteString("(&")
	b.WriteString(c.GroupFilter)
	if len(dns) > 1 {
		b.WriteString("(|")
	}
	for _, dn := range dns {
		b.WriteString("(" + c.GroupMemberAttr + "=" + goldap.EscapeFilter(dn) + ")")
	}
	if len(dns) > 1 {
		b.WriteString(")")
	}
	b.WriteString(")")
	return b.String()
}

// inChainFilter finds every group that contains dn directly or through
// other groups, evaluated by the server (Active Directory).
func (c Config) inChainFilter(dn string) string {
	return "(&" + c.GroupFilter + "(" + c.GroupMemberAttr + ":" + InChainOID + ":=" + goldap.EscapeFilter(dn) + "))"
}
