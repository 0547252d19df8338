// Package harbor proves that Harbor's own Go SDK,
// github.com/goharbor/go-client (pkg/sdk/v2.0/client, generated from
// Harbor's swagger with go-openapi), can call berth's management API and
// decode its answers.
//
// The tests start a complete berth server in-process (memory storage,
// in-memory SQLite, authentication on), push a small random image with
// go-containerregistry, and then drive the API only through go-client's
// sub-clients, as a Harbor user would: projects, artifacts and audit
// logs; garbage collection (schedule, manual runs, history, logs);
// quotas; tag retention (policies, executions including dry runs, tasks,
// task logs); tag immutability rules; webhook policies and their
// executions; labels and labels on artifacts; every repository,
// repository descriptions, tag creation, copies, accessories, additions,
// a project's artifacts and icons. Each test checks the
// values that come back (ids, names, statuses, counts), not only that a
// call succeeded: an answer go-client cannot decode, or one with a
// status Harbor's swagger does not name, is an incompatibility in berth.
// A known incompatibility is a subtest that skips with a message naming
// the berth file at fault ("berth incompatibility: ..."; see them with go
// test -v, helpers_test.go's knownGap); each is to become a real check
// once berth answers as Harbor does.
//
// The package is its own module so that berth's main module never
// depends on go-client and its go-openapi stack; the repository's
// workspace lists it, so from the repository root
//
//	go test ./compat/harbor/...
package harbor
