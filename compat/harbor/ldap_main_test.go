package harbor_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/berthlabs/berth/internal/slapdtest"
	"github.com/berthlabs/berth/server"
)

// ldapUser is a user of the test directory the LDAP calls look for.
const ldapUser = "alice"

// startLDAP starts a real OpenLDAP slapd (internal/slapdtest, seeded with
// alice, bob... and the groups devs, platform...) for the test server and
// writes the server's ldap.config file into dir. Without slapd installed
// it says why and returns "" (CI, which installs slapd, fails instead):
// the server then has no directory. stop shuts slapd down.
func startLDAP(dir string) (configFile string, stop func(), err error) {
	tb := &mainTB{dir: dir}
	stop = tb.cleanup
	defer func() {
		if r := recover(); r != nil {
			end, ok := r.(mainTBEnd)
			if !ok {
				panic(r)
			}
			configFile, err = "", end.err
		}
	}()
	s := slapdtest.Start(tb)
	raw, err := json.Marshal(server.LDAPFile{
		URL: s.URL, BindDN: slapdtest.SearchDN, BaseDN: slapdtest.BaseDN,
		UserFilter: "(objectClass=inetOrgPerson)", UserAttr: "uid",
		GroupBaseDN: slapdtest.GroupsDN, GroupFilter: "(objectClass=groupOfNames)", GroupNameAttr: "cn",
		GroupMemberAttr: "member", Nested: "auto", TimeoutSeconds: 5,
	})
	if err != nil {
		return "", stop, err
	}
	configFile = filepath.Join(dir, "ldap.json")
	return configFile, stop, os.WriteFile(configFile, raw, 0o600)
}

// mainTB is the testing.TB slapdtest.Start needs, for TestMain (which has
// none): Fatal ends the start with an error, Skip with none; the methods
// slapdtest does not call are left to the nil embedded TB.
type mainTB struct {
	testing.TB
	dir      string
	n        int
	cleanups []func()
}

// mainTBEnd is how Fatalf and Skip end startLDAP.
type mainTBEnd struct{ err error }

func (m *mainTB) Helper()          {}
func (m *mainTB) Name() string     { return "TestMain" }
func (m *mainTB) Cleanup(f func()) { m.cleanups = append(m.cleanups, f) }
func (m *mainTB) Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ldap: "+format+"\n", args...)
}
func (m *mainTB) Errorf(format string, args ...any) { m.Fatalf(format, args...) }
func (m *mainTB) Fatalf(format string, args ...any) {
	panic(mainTBEnd{fmt.Errorf("ldap: "+format, args...)})
}
func (m *mainTB) Skip(args ...any) {
	fmt.Fprintln(os.Stderr, append([]any{"ldap: no directory:"}, args...)...)
	panic(mainTBEnd{})
}

func (m *mainTB) TempDir() string {
	m.n++
	d := filepath.Join(m.dir, fmt.Sprintf("tmp%d", m.n))
	if err := os.MkdirAll(d, 0o700); err != nil {
		m.Fatalf("%v", err)
	}
	return d
}

// cleanup runs the registered cleanups, last first.
func (m *mainTB) cleanup() {
	for _, f := range slices.Backward(m.cleanups) {
		f()
	}
	m.cleanups = nil
}
