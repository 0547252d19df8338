package main

// The container image is built from scratch and has no CA certificates:
// Go's fallback roots (Mozilla's bundle, compiled in) verify TLS peers —
// LDAP, S3, replication targets, Trivy's DB — when the system has none.
// A system bundle (SSL_CERT_FILE, a mounted /etc/ssl/certs) still wins.
import _ "golang.org/x/crypto/x509roots/fallback"
