package ldap

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCanonicalDN(t *testing.T) {
	for in, want := range map[string]string{
		"cn=devs,ou=groups,dc=berth,dc=test":   "cn=devs,ou=groups,dc=berth,dc=test",
		"CN=Devs, OU=Groups ,DC=Berth,DC=Test": "cn=devs,ou=groups,dc=berth,dc=test",
		`CN=Smith\, John,OU=People,DC=corp`:    `cn=smith\, john,ou=people,dc=corp`,
		`cn=Smith\2C John,ou=People,dc=corp`:   `cn=smith\, john,ou=people,dc=corp`,
		"uid=Bob+CN=Bob Builder,dc=x":          "cn=bob builder+uid=bob,dc=x",
		"  not a DN  ":                         "not a dn",
		"":                                     "",
	} {
		assert.Equal(t, want, CanonicalDN(in), "CanonicalDN(%q)", in)
	}
}
