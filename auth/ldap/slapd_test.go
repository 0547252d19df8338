package ldap_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/auth/ldap"
	"github.com/berthlabs/berth/internal/slapdtest"
)

// TestSlapd runs the authenticator against a real OpenLDAP slapd seeded
// with slapdtest's directory (see slapdtest/data.go): it is also the
// reference for configuring the package against an OpenLDAP server.
func TestSlapd(t *testing.T) {
	srv := slapdtest.Start(t)
	ctx := context.Background()
	alice, bob, carol, dave := slapdtest.Users["alice"], slapdtest.Users["bob"], slapdtest.Users["carol"], slapdtest.Users["dave"]

	// config is how an OpenLDAP directory is described; each subtest
	// changes what it exercises.
	config := func(modify ...func(*ldap.Config)) ldap.Config {
		cfg := ldap.Config{
			URL:          srv.URL,
			BindDN:       slapdtest.SearchDN,
			BindPassword: slapdtest.SearchPassword,
			BaseDN:       slapdtest.BaseDN,
			UserFilter:   "(objectClass=inetOrgPerson)",
			UserAttr:     "uid",
			GroupBaseDN:  slapdtest.GroupsDN,
			GroupFilter:  "(objectClass=groupOfNames)",
			Timeout:      5 * time.Second,
		}
		for _, m := range modify {
			m(&cfg)
		}
		return cfg
	}
	newAuth := func(t *testing.T, cfg ldap.Config) *ldap.Authenticator {
		t.Helper()
		a, err := ldap.New(cfg)
		require.NoError(t, err)
		return a
	}
	groupNames := func(id *ldap.Identity) []string {
		var out []string
		for _, g := range id.Groups {
			out = append(out, g.Name)
		}
		return out
	}
	// bindsDuring returns the DNs slapd was asked to bind as while f ran.
	var logMu sync.Mutex
	bindsDuring := func(f func()) []string {
		logMu.Lock()
		defer logMu.Unlock()
		before := len(srv.BindDNs())
		f()
		return srv.BindDNs()[before:]
	}

	t.Run("Login", func(t *testing.T) {
		a := newAuth(t, config(func(c *ldap.Config) { c.Nested = ldap.NestedOff }))
		id, err := a.Authenticate(ctx, "alice", alice.Password)
		require.NoError(t, err)
		assert.Equal(t, &ldap.Identity{
			Username:    "alice",
			DN:          alice.DN(),
			Email:       "alice@berth.test",
			DisplayName: "Alice L.",
			Groups:      []ldap.Group{{DN: slapdtest.GroupDN("devs"), Name: "devs"}},
		}, id)
	})

	t.Run("UsernameIsReturnedAsStored", func(t *testing.T) {
		id, err := newAuth(t, config()).Authenticate(ctx, "ALICE", alice.Password)
		require.NoError(t, err)
		assert.Equal(t, "alice", id.Username, "uid matches case-insensitively; the directory's spelling is returned")
	})

	t.Run("WrongPasswordAndUnknownUserLookAlike", func(t *testing.T) {
		a := newAuth(t, config())
		var wrongErr, unknownErr error
		wrongBinds := bindsDuring(func() { _, wrongErr = a.Authenticate(ctx, "alice", "not-alices-password") })
		unknownBinds := bindsDuring(func() { _, unknownErr = a.Authenticate(ctx, "mallory", "whatever") })
		require.ErrorIs(t, wrongErr, ldap.ErrInvalidCredentials)
		require.ErrorIs(t, unknownErr, ldap.ErrInvalidCredentials)
		assert.Equal(t, wrongErr, unknownErr, "the very same error: nothing tells the user which it was")
		// Same round trips: the service bind, then a bind with the password
		// (to a DN that does not exist for the unknown user).
		assert.Equal(t, []string{slapdtest.SearchDN, alice.DN()}, wrongBinds)
		require.Len(t, unknownBinds, 2)
		assert.Equal(t, slapdtest.SearchDN, unknownBinds[0])
		assert.NotContains(t, unknownBinds[1], "ou=people")
	})

	t.Run("EmptyPasswordNeverBinds", func(t *testing.T) {
		a := newAuth(t, config())
		binds := bindsDuring(func() {
			_, err := a.Authenticate(ctx, "alice", "")
			require.ErrorIs(t, err, ldap.ErrInvalidCredentials)
		})
		assert.Empty(t, binds, "refused before connecting: an empty-password bind is an anonymous bind and succeeds")
	})

	t.Run("FilterMetacharactersLogNobodyIn", func(t *testing.T) {
		a := newAuth(t, config())
		usernames := []string{"*", "*)(uid=*", "alice)(|(uid=*", "*)(|(objectClass=*", "al*", "*)(uid=alice", `alice\`, "alice\x00"}
		passwords := []string{alice.Password, bob.Password, slapdtest.SearchPassword, "x"}
		binds := bindsDuring(func() {
			for _, u := range usernames {
				for _, p := range passwords {
					id, err := a.Authenticate(ctx, u, p)
					assert.ErrorIs(t, err, ldap.ErrInvalidCredentials, "username %q", u)
					assert.Nil(t, id)
				}
			}
		})
		for _, dn := range binds {
			assert.NotContains(t, strings.ToLower(dn), "ou=people", "no bind as a real user may even be attempted")
		}
	})

	t.Run("MetacharacterUsernameMatchesLiterally", func(t *testing.T) {
		evil := slapdtest.Users["evil"]
		a := newAuth(t, config())
		id, err := a.Authenticate(ctx, evil.UID, evil.Password)
		require.NoError(t, err)
		assert.Equal(t, "ev*l)(uid=*", id.Username)
		assert.Equal(t, evil.DN(), id.DN)
		_, err = a.Authenticate(ctx, evil.UID, alice.Password)
		require.ErrorIs(t, err, ldap.ErrInvalidCredentials)
	})

	t.Run("AmbiguousUsername", func(t *testing.T) {
		a := newAuth(t, config())
		var err error
		binds := bindsDuring(func() { _, err = a.Authenticate(ctx, "twin", "twin-pw") })
		require.ErrorIs(t, err, ldap.ErrAmbiguousUser)
		assert.NotErrorIs(t, err, ldap.ErrInvalidCredentials)
		assert.Contains(t, err.Error(), "more than one directory entry")
		assert.Equal(t, []string{slapdtest.SearchDN}, binds, "no password is tried")
	})

	t.Run("NestedGroups", func(t *testing.T) {
		tests := []struct {
			nested   ldap.NestedMode
			maxDepth int
			user     slapdtest.User
			want     []string
		}{
			{ldap.NestedOff, 0, alice, []string{"devs"}},
			{ldap.NestedRecursive, 0, alice, []string{"devs", "org", "platform"}}, // org two levels up
			{ldap.NestedRecursive, 2, alice, []string{"devs", "platform"}},
			{ldap.NestedRecursive, 0, carol, []string{"org", "platform"}},
			{ldap.NestedRecursive, 0, bob, []string{"loop-a", "loop-b"}}, // cycle: terminates
			{ldap.NestedRecursive, 0, dave, nil},
			{"", 0, alice, []string{"devs", "org", "platform"}}, // default: auto, falls back to recursive
			{ldap.NestedAuto, 0, bob, []string{"loop-a", "loop-b"}},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%s/depth=%d", tt.user.UID, tt.nested, tt.maxDepth), func(t *testing.T) {
				a := newAuth(t, config(func(c *ldap.Config) { c.Nested, c.MaxDepth = tt.nested, tt.maxDepth }))
				id, err := a.Authenticate(ctx, tt.user.UID, tt.user.Password)
				require.NoError(t, err)
				assert.Equal(t, tt.want, groupNames(id))
				for _, g := range id.Groups {
					assert.Equal(t, slapdtest.GroupDN(g.Name), g.DN, "full DNs, ready for rbac's group:<DN> subjects")
				}
			})
		}
	})

	t.Run("InChainIsUnsupportedByOpenLDAP", func(t *testing.T) {
		a := newAuth(t, config(func(c *ldap.Config) { c.Nested = ldap.NestedInChain }))
		_, err := a.Authenticate(ctx, "alice", alice.Password)
		require.ErrorIs(t, err, ldap.ErrInChainUnsupported)
		assert.Contains(t, err.Error(), "LDAP_MATCHING_RULE_IN_CHAIN (1.2.840.113556.1.4.1941)")
	})

	t.Run("LDAPS", func(t *testing.T) {
		trusted := &tls.Config{RootCAs: srv.CA.Pool()}
		id, err := newAuth(t, config(func(c *ldap.Config) { c.URL, c.TLS = srv.LDAPSURL, trusted })).
			Authenticate(ctx, "alice", alice.Password)
		require.NoError(t, err)
		assert.Equal(t, alice.DN(), id.DN)
		require.NoError(t, newAuth(t, config(func(c *ldap.Config) { c.URL, c.TLS = srv.LDAPSURL, trusted })).Ping(ctx))
	})

	t.Run("StartTLS", func(t *testing.T) {
		a := newAuth(t, config(func(c *ldap.Config) { c.StartTLS, c.TLS = true, &tls.Config{RootCAs: srv.CA.Pool()} }))
		id, err := a.Authenticate(ctx, "alice", alice.Password)
		require.NoError(t, err)
		assert.Equal(t, alice.DN(), id.DN)
	})

	t.Run("UntrustedCertificateIsRefused", func(t *testing.T) {
		other := slapdtest.NewCA(t, "some other CA")
		for name, modify := range map[string]func(*ldap.Config){
			"ldaps, other CA":    func(c *ldap.Config) { c.URL, c.TLS = srv.LDAPSURL, &tls.Config{RootCAs: other.Pool()} },
			"ldaps, system pool": func(c *ldap.Config) { c.URL = srv.LDAPSURL },
			"StartTLS, other CA": func(c *ldap.Config) { c.StartTLS, c.TLS = true, &tls.Config{RootCAs: other.Pool()} },
		} {
			t.Run(name, func(t *testing.T) {
				var err error
				binds := bindsDuring(func() { _, err = newAuth(t, config(modify)).Authenticate(ctx, "alice", alice.Password) })
				require.ErrorIs(t, err, ldap.ErrTLS)
				assert.NotErrorIs(t, err, ldap.ErrUnavailable)
				var unknownAuthority x509.UnknownAuthorityError
				var verify *tls.CertificateVerificationError
				assert.True(t, errors.As(err, &unknownAuthority) || errors.As(err, &verify), "got %v", err)
				assert.Empty(t, binds, "no password crosses an unverified connection")
			})
		}
		t.Run("wrong host name", func(t *testing.T) {
			tc := &tls.Config{RootCAs: srv.CA.Pool(), ServerName: "ldap.example.com"}
			err := newAuth(t, config(func(c *ldap.Config) { c.URL, c.TLS = srv.LDAPSURL, tc })).Ping(ctx)
			require.ErrorIs(t, err, ldap.ErrTLS)
			var hostname x509.HostnameError
			assert.ErrorAs(t, err, &hostname)
		})
	})

	t.Run("AnonymousSearch", func(t *testing.T) {
		a := newAuth(t, config(func(c *ldap.Config) { c.BindDN, c.BindPassword = "", "" }))
		id, err := a.Authenticate(ctx, "alice", alice.Password)
		require.NoError(t, err)
		assert.Equal(t, []string{"devs", "org", "platform"}, groupNames(id))
		require.NoError(t, a.Ping(ctx))
	})

	t.Run("WrongServiceAccountPasswordIsNotTheUsersFault", func(t *testing.T) {
		a := newAuth(t, config(func(c *ldap.Config) { c.BindPassword = "stale" }))
		_, err := a.Authenticate(ctx, "alice", alice.Password)
		require.Error(t, err)
		assert.NotErrorIs(t, err, ldap.ErrInvalidCredentials)
		assert.Contains(t, err.Error(), "bind as service account")
		assert.ErrorContains(t, a.Ping(ctx), "Invalid Credentials")
	})

	t.Run("Ping", func(t *testing.T) {
		require.NoError(t, newAuth(t, config()).Ping(ctx))
	})

	t.Run("ConcurrentLogins", func(t *testing.T) {
		a := newAuth(t, config(func(c *ldap.Config) { c.MaxConnections = 4 }))
		var wg sync.WaitGroup
		for i := range 32 {
			wg.Go(func() {
				u := []slapdtest.User{alice, bob, carol, dave}[i%4]
				pw := u.Password
				if i%3 == 0 {
					pw = "wrong"
				}
				id, err := a.Authenticate(ctx, u.UID, pw)
				if pw == "wrong" {
					assert.ErrorIs(t, err, ldap.ErrInvalidCredentials)
					return
				}
				if assert.NoError(t, err) {
					assert.Equal(t, u.DN(), id.DN)
				}
			})
		}
		wg.Wait()
	})

	t.Run("ServerDown", func(t *testing.T) {
		a := newAuth(t, config(func(c *ldap.Config) { c.Timeout = time.Second }))
		srv.Stop()
		start := time.Now()
		_, err := a.Authenticate(ctx, "alice", alice.Password)
		require.ErrorIs(t, err, ldap.ErrUnavailable)
		assert.NotErrorIs(t, err, ldap.ErrInvalidCredentials)
		require.ErrorIs(t, a.Ping(ctx), ldap.ErrUnavailable)
		assert.Less(t, time.Since(start), 2*time.Second)
	})
}
