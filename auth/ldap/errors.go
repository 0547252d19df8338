package ldap

import "errors"

var (
	// ErrInvalidCredentials is returned for a wrong password, an unknown
	// user, an empty password and an unusable username alike, so that a
	// caller cannot tell which (answer 401).
	ErrInvalidCredentials = errors.New("ldap: invalid username or password")

	// ErrUnavailable wraps failures to reach or hear from the server:
	// refused or dropped connections, timeouts, a busy or unavailable
	// server (answer 503 and retry later). The cause is wrapped with it.
	ErrUnavailable = errors.New("ldap: server unavailable")

	// ErrTLS wraps a failed TLS handshake (untrusted CA, wrong host name,
	// a server that does not speak TLS). It is a configuration or security
	// problem, not an outage; the crypto/tls or crypto/x509 cause is wrapped.
	ErrTLS = errors.New("ldap: TLS failure")

	// ErrAmbiguousUser is returned, before any password check, when more
	// than one entry matches the login name: the user filter or login
	// attribute is too loose. Log it for the operator, answer 401.
	ErrAmbiguousUser = errors.New("ldap: username matches more than one directory entry")

	// ErrInChainUnsupported is returned in NestedInChain mode when the
	// server does not evaluate Active Directory's LDAP_MATCHING_RULE_IN_CHAIN
	// (1.2.840.113556.1.4.1941), as OpenLDAP does not. Use NestedAuto or
	// NestedRecursive for such servers.
	ErrInChainUnsupported = errors.New("ldap: server does not support matching rule LDAP_MATCHING_RULE_IN_CHAIN (" + InChainOID + ")")
)
