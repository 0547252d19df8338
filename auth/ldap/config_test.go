package ldap

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewDefaults(t *testing.T) {
	a, err := New(Config{URL: "ldap://ldap.example.com", BaseDN: "dc=example,dc=com"})
	require.NoError(t, err)
	assert.Equal(t, Config{
		URL:             "ldap://ldap.example.com",
		BaseDN:          "dc=example,dc=com",
		UserFilter:      DefaultUserFilter,
		UserAttr:        "uid",
		EmailAttr:       "mail",
		DisplayNameAttr: "displayName",
		GroupBaseDN:     "dc=example,dc=com",
		GroupFilter:     DefaultGroupFilter,
		GroupMemberAttr: "member",
		GroupNameAttr:   "cn",
		Nested:          NestedAuto,
		MaxDepth:        10,
		Timeout:         10 * time.Second,
		MaxConnections:  16,
	}, a.cfg)
	assert.Equal(t, "ldap.example.com:389", a.ep.addr)
	assert.Nil(t, a.tlsConfig, "plain ldap:// without StartTLS needs no TLS config")
}

func TestNewTLSConfig(t *testing.T) {
	pool := x509.NewCertPool()
	given := &tls.Config{RootCAs: pool}
	a, err := New(Config{URL: "ldaps://dc1.corp.example:3269", TLS: given, BaseDN: "dc=corp,dc=example"})
	require.NoError(t, err)
	assert.Equal(t, "dc1.corp.example:3269", a.ep.addr)
	assert.Same(t, pool, a.tlsConfig.RootCAs)
	assert.Equal(t, "dc1.corp.example", a.tlsConfig.ServerName, "ServerName defaults to the URL's host")
	assert.Equal(t, uint16(tls.VersionTLS12), a.tlsConfig.MinVersion)
	assert.False(t, a.tlsConfig.InsecureSkipVerify)
	assert.Empty(t, given.ServerName, "the caller's tls.Config is cloned, not modified")

	a, err = New(Config{URL: "ldap://[::1]", StartTLS: true, BaseDN: "dc=x"})
	require.NoError(t, err)
	assert.Equal(t, "[::1]:389", a.ep.addr)
	assert.Equal(t, "::1", a.tlsConfig.ServerName)
	assert.Nil(t, a.tlsConfig.RootCAs, "nil RootCAs: the system pool")
	assert.False(t, a.tlsConfig.InsecureSkipVerify)
}

func TestNewRejectsBadConfig(t *testing.T) {
	valid := Config{URL: "ldap://ldap.example.com", BaseDN: "dc=example,dc=com"}
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"no URL", func(c *Config) { c.URL = "" }, "URL is required"},
		{"http URL", func(c *Config) { c.URL = "http://ldap.example.com" }, "scheme must be ldap:// or ldaps://"},
		{"no host", func(c *Config) { c.URL = "ldap://" }, "has no host"},
		{"DN in URL", func(c *Config) { c.URL = "ldap://h/dc=example,dc=com" }, "put the base DN in BaseDN"},
		{"StartTLS on ldaps", func(c *Config) { c.URL = "ldaps://h"; c.StartTLS = true }, "already TLS"},
		{"bind DN without password", func(c *Config) { c.BindDN = "cn=svc,dc=example,dc=com" }, "must be set together"},
		{"password without bind DN", func(c *Config) { c.BindPassword = "x" }, "must be set together"},
		{"bad bind DN", func(c *Config) { c.BindDN, c.BindPassword = "not a dn", "x" }, "BindDN"},
		{"no base DN", func(c *Config) { c.BaseDN = "" }, "BaseDN is required"},
		{"bad group base DN", func(c *Config) { c.GroupBaseDN = "ou=groups,,x" }, "GroupBaseDN"},
		{"filter without parentheses", func(c *Config) { c.UserFilter = "objectClass=person" }, "enclosed in parentheses"},
		{"unbalanced filter", func(c *Config) { c.GroupFilter = "(objectClass=group" }, "GroupFilter"},
		{"attribute injection", func(c *Config) { c.UserAttr = "uid=*)(cn" }, "UserAttr"},
		{"bad member attribute", func(c *Config) { c.GroupMemberAttr = "member:1.2.3:" }, "GroupMemberAttr"},
		{"bad nested mode", func(c *Config) { c.Nested = "deep" }, `Nested "deep"`},
		{"negative depth", func(c *Config) { c.MaxDepth = -1 }, "MaxDepth"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "Timeout"},
		{"negative connections", func(c *Config) { c.MaxConnections = -1 }, "MaxConnections"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.modify(&cfg)
			_, err := New(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "ldap: invalid config")
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
