// Package ldap authenticates users against an LDAP directory or Active
// Directory (bind + search, with github.com/go-ldap/ldap/v3) and returns who
// they are and which groups they belong to, nested groups included.
//
//	auth, err := ldap.New(ldap.Config{
//		URL:          "ldaps://ldap.example.com",
//		TLS:          &tls.Config{RootCAs: corpCAs},
//		BindDN:       "cn=registry,ou=services,dc=example,dc=com",
//		BindPassword: os.Getenv("LDAP_BIND_PASSWORD"),
//		BaseDN:       "ou=people,dc=example,dc=com",
//		UserFilter:   "(objectClass=inetOrgPerson)",
//		UserAttr:     "uid",
//		GroupBaseDN:  "ou=groups,dc=example,dc=com",
//		GroupFilter:  "(objectClass=groupOfNames)",
//	})
//	...
//	id, err := auth.Authenticate(ctx, username, password)
//	switch {
//	case errors.Is(err, ldap.ErrInvalidCredentials), errors.Is(err, ldap.ErrAmbiguousUser):
//		// 401 (log an ambiguous username for the operator)
//	case errors.Is(err, ldap.ErrUnavailable):
//		// 503, try again later
//	case err != nil:
//		// ErrTLS, ErrInChainUnsupported, a bad service account...: 500, log it
//	}
//
// # Security
//
// The username is escaped into the search filter (go-ldap's EscapeFilter), so
// "*", "*)(uid=*" and the like match only an entry whose login attribute
// is literally that string. Exactly one entry must match; then the user's
// own DN is bound with the password. An empty password is refused before
// any bind (it would be an anonymous bind, which servers accept). A wrong
// password and an unknown user give the same ErrInvalidCredentials after
// the same number of round trips (an unknown user costs a bind to a DN that
// does not exist). TLS certificates are always verified against Config.TLS
// (or the system pool) unless the caller sets InsecureSkipVerify itself.
//
// # Nested groups
//
// Config.Nested chooses how groups of groups are found: NestedAuto (the
// default) uses Active Directory's in-chain matching rule
// (member:1.2.840.113556.1.4.1941:=<userDN>) and falls back to NestedRecursive
// once it sees the server does not evaluate it (OpenLDAP answers such a
// filter with no entries instead of an error; the fallback notices that the
// answer lacks the user's direct groups). NestedRecursive searches one level
// at a time, detects cycles and stops at MaxDepth. NestedOff returns direct
// groups only. Active Directory's primary group (primaryGroupID, usually
// "Domain Users") is not a member value and is not returned.
//
// # Integration
//
// The package only answers "who is this and in which groups". The caller:
//
//   - onboards the user on first login: look up the local user by
//     Identity.Username (the directory's spelling of the login name) and,
//     when absent, create it from Identity.Email and DisplayName; keep
//     Identity.DN to recognise the person if the login name changes;
//   - maps groups to project roles through rbac, which binds roles to
//     subjects: a project member "group:<DN>" (the full DN, not the short
//     Name, which is not unique) gives every member of that LDAP group,
//     directly or through nested groups, that role. At request time the
//     caller's rbac.Principal lists the DN of each Identity.Groups entry in
//     Groups. rbac compares strings exactly, so pass DNs through CanonicalDN
//     both when a member binding is created and when the Principal is built;
//   - carries the identity in its own token or session: there is no
//     connection pool, each Authenticate and Ping opens one connection,
//     bounded by Config.MaxConnections, and closes it.
package ldap
