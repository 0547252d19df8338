package slapdtest

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The directory every test server is seeded with.
const (
	BaseDN   = "dc=berth,dc=test"
	PeopleDN = "ou=people," + BaseDN
	GroupsDN = "ou=groups," + BaseDN

	// AdminDN is the database's rootdn (never used by the code under test).
	AdminDN       = "cn=admin," + BaseDN
	AdminPassword = "admin-secret"

	// SearchDN is the read-only service account the authenticator searches with.
	SearchDN       = "cn=search,ou=services," + BaseDN
	SearchPassword = "search-secret"
)

// User is a seeded person (objectClass inetOrgPerson under PeopleDN unless
// Parent says otherwise).
type User struct {
	UID, CN, Mail, DisplayName, Password string
	Parent                               string // default PeopleDN
}

// DN is the user's entry name.
func (u User) DN() string {
	parent := u.Parent
	if parent == "" {
		parent = PeopleDN
	}
	return "cn=" + u.CN + "," + parent
}

// Users are the seeded people. "evil" has a uid made of LDAP filter
// metacharacters; the two "twin" entries share one uid (an ambiguous login).
var Users = map[string]User{
	"alice": {UID: "alice", CN: "Alice Liddell", Mail: "alice@berth.test", DisplayName: "Alice L.", Password: "alice-pw"},
	"bob":   {UID: "bob", CN: "Bob Builder", Mail: "bob@berth.test", DisplayName: "Bob B.", Password: "bob-pw"},
	"carol": {UID: "carol", CN: "Carol Danvers", Mail: "carol@berth.test", DisplayName: "Carol D.", Password: "carol-pw"},
	"dave":  {UID: "dave", CN: "Dave Lister", Mail: "dave@berth.test", DisplayName: "Dave L.", Password: "dave-pw"},
	"evil":  {UID: "ev*l)(uid=*", CN: "Evil Eve", Mail: "eve@berth.test", DisplayName: "Eve", Password: "evil-pw"},
	"twin1": {UID: "twin", CN: "Twin One", Mail: "twin1@berth.test", DisplayName: "Twin 1", Password: "twin-pw"},
	"twin2": {UID: "twin", CN: "Twin Two", Mail: "twin2@berth.test", DisplayName: "Twin 2", Password: "twin-pw",
		Parent: "ou=contractors," + BaseDN},
}

// GroupDN names a seeded group.
func GroupDN(cn string) string { return "cn=" + cn + "," + GroupsDN }

// Groups maps each seeded groupOfNames to its members:
//
//	devs     ← alice
//	platform ← devs, carol          (alice: one level nested)
//	org      ← platform             (alice: two levels nested)
//	loop-a   ← bob, loop-b          (a membership cycle)
//	loop-b   ← loop-a
//	dave is in no group.
var Groups = map[string][]string{
	"devs":     {Users["alice"].DN()},
	"platform": {GroupDN("devs"), Users["carol"].DN()},
	"org":      {GroupDN("platform")},
	"loop-a":   {Users["bob"].DN(), GroupDN("loop-b")},
	"loop-b":   {GroupDN("loop-a")},
}

// seedLDIF renders the database contents for slapadd.
func seedLDIF() string {
	var b strings.Builder
	entry := func(lines ...string) {
		for _, l := range lines {
			b.WriteString(l)
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	entry("dn: "+BaseDN, "objectClass: dcObject", "objectClass: organization", "dc: berth", "o: berth tests")
	for _, ou := range []string{"people", "groups", "services", "contractors"} {
		entry("dn: ou="+ou+","+BaseDN, "objectClass: organizationalUnit", "ou: "+ou)
	}
	entry("dn: "+SearchDN, "objectClass: organizationalRole", "objectClass: simpleSecurityObject",
		"cn: search", "userPassword: "+SSHA(SearchPassword))
	for _, key := range sortedKeys(Users) {
		u := Users[key]
		entry("dn: "+u.DN(), "objectClass: inetOrgPerson", "cn: "+u.CN,
			"sn: "+u.CN[strings.LastIndexByte(u.CN, ' ')+1:], "uid: "+u.UID,
			"mail: "+u.Mail, "displayName: "+u.DisplayName, "userPassword: "+SSHA(u.Password))
	}
	for _, cn := range sortedKeys(Groups) {
		lines := []string{"dn: " + GroupDN(cn), "objectClass: groupOfNames", "cn: " + cn}
		for _, m := range Groups[cn] {
			lines = append(lines, "member: "+m)
		}
		entry(lines...)
	}
	return b.String()
}

// SSHA returns an OpenLDAP {SSHA} userPassword value (salted SHA-1: the
// scheme every slapd build understands without extra modules).
func SSHA(password string) string {
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		panic(fmt.Sprintf("slapdtest: salt: %v", err))
	}
	sum := sha1.Sum(append([]byte(password), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(sum[:], salt...))
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
