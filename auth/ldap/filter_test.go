package ldap

import (
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testConfig() Config {
	return Config{URL: "ldap://ldap.invalid", BaseDN: "dc=example,dc=com"}.withDefaults()
}

// TestUserFilterEscapesMetacharacters shows that whatever the username, the
// user search stays (&<UserFilter>(<UserAttr>=<literal username>)): two
// clauses, the second an equality match whose value is the username.
func TestUserFilterEscapesMetacharacters(t *testing.T) {
	cfg := testConfig()
	cfg.UserFilter = "(objectClass=inetOrgPerson)"
	tests := []struct {
		username string
		want     string
	}{
		{"alice", `(&(objectClass=inetOrgPerson)(uid=alice))`},
		{"*", `(&(objectClass=inetOrgPerson)(uid=\2a))`},
		{"*)(uid=*", `(&(objectClass=inetOrgPerson)(uid=\2a\29\28uid=\2a))`},
		{"alice)(|(uid=*", `(&(objectClass=inetOrgPerson)(uid=alice\29\28|\28uid=\2a))`},
		{`back\slash`, `(&(objectClass=inetOrgPerson)(uid=back\5cslash))`},
		{"nul\x00byte", `(&(objectClass=inetOrgPerson)(uid=nul\00byte))`},
		{"jürgen", `(&(objectClass=inetOrgPerson)(uid=j\c3\bcrgen))`},
	}
	for _, tt := range tests {
		t.Run(tt.username, func(t *testing.T) {
			got := cfg.userFilter(tt.username)
			assert.Equal(t, tt.want, got)

			packet, err := goldap.CompileFilter(got)
			require.NoError(t, err)
			require.Equal(t, goldap.FilterAnd, int(packet.Tag))
			require.Len(t, packet.Children, 2, "the username must not add clauses")
			eq := packet.Children[1]
			require.Equal(t, goldap.FilterEqualityMatch, int(eq.Tag), "the username must stay one equality match")
			assert.Equal(t, "uid", eq.Children[0].Data.String())
			assert.Equal(t, tt.username, eq.Children[1].Data.String(), "the server compares the literal username")
		})
	}
}

func TestGroupFilters(t *testing.T) {
	cfg := testConfig()
	cfg.GroupFilter = "(objectClass=groupOfNames)"
	user := `cn=Smith\2C John (*),ou=people,dc=example,dc=com`

	assert.Equal(t, `(&(objectClass=groupOfNames)(member=cn=Smith\5c2C John \28\2a\29,ou=people,dc=example,dc=com))`,
		cfg.memberFilter([]string{user}))
	assert.Equal(t, `(&(objectClass=groupOfNames)(|(member=cn=a,dc=x)(member=cn=b,dc=x)))`,
		cfg.memberFilter([]string{"cn=a,dc=x", "cn=b,dc=x"}))
	assert.Equal(t, `(&(objectClass=groupOfNames)(member:1.2.840.113556.1.4.1941:=cn=Smith\5c2C John \28\2a\29,ou=people,dc=example,dc=com))`,
		cfg.inChainFilter(user))

	// The in-chain filter is one extensible match carrying the rule, the
	// member attribute and the literal DN.
	packet, err := goldap.CompileFilter(cfg.inChainFilter(user))
	require.NoError(t, err)
	ext := packet.Children[1]
	require.Equal(t, goldap.FilterExtensibleMatch, int(ext.Tag))
	fields := map[ber.Tag]string{}
	for _, c := range ext.Children {
		fields[c.Tag] = c.Data.String()
	}
	assert.Equal(t, map[ber.Tag]string{1: InChainOID, 2: "member", 3: user}, fields)
}
