// Package e2e holds end-to-end tests that drive berth, served in-process
// over the filesystem driver and SQLite, with real OCI clients: skopeo,
// crane and oras. A missing client skips its test (fails when CI=true).
package e2e
