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
// A known incompatibility would be a subtest that skips with a message
// naming the berth file at fault (helpers_test.go's knownGap, "berth
// incompatibility: ..."); there are none today.
//
// # Coverage of Harbor's API
//
// Two tests measure berth against all of Harbor's API, not only the
// parts above. testdata/harbor-swagger.yaml is Harbor's API definition
// (api/v2.0/swagger.yaml of goharbor/harbor, Apache-2.0, as vendored by
// go-client v0.213.1; see testdata/NOTICE): 203 operations.
//
// TestOperationsServed compares those operations with berth's served
// OpenAPI document (/api/v2.0/openapi.json), paths compared with their
// wildcards' names erased ({user_id} and {username} match) and without a
// trailing slash. The operations berth does not serve are
// testdata/not-served.txt, one operationId<TAB>reason a line, the
// reasons written by hand; the test fails when that list and the server
// disagree, and when berth serves one of Harbor's paths under another
// operationId. After a change,
//
//	go test ./compat/harbor/ -run TestOperationsServed -update
//
// rewrites the list, keeping the reasons (a new line says UNEXPLAINED, which
// fails until it is explained).
//
// TestSDKCoverage calls every one of the 203 operations through
// go-client's sub-clients, one small function per operation in a table
// by operationId (sdkCalls; the sdk_ops_*_test.go files, by tag), on
// things it first makes through go-client too (a project with a pushed
// image, a user, a member, a robot, a label, webhook, retention,
// immutability and replication policies, a scanner registration, GC
// and purge runs...) and addressing them by the ids the server gave. It
// prints the coverage table, operationId by tag with served (in berth's
// document), succeeded (a 2xx answer), decoded (into go-client's typed
// answer) and the result (ok; else the status, the decode error, a failed
// check of the answer, or the set-up that failed), and the total
// "N of 203 operations served and decoded":
//
//	go test ./compat/harbor/ -run TestSDKCoverage -v
//	go test ./compat/harbor/ -run TestSDKCoverage -sdk-table=coverage.md
//
// Every served operation must succeed and decode, except those in
// testdata/known-sdk-bugs.txt (go-client cannot decode them because of
// its own bugs, such as goharbor/go-client#41; their raw JSON is checked
// instead, and must match). The stop operations meet work in progress:
// the static scanner holds the scans of a chosen repository until
// released, so stopScanArtifact stops a running scan and stopScanAll a
// scan-all waiting behind held job workers.
//
// The in-process server runs every feature that can run in-process:
// scanning (with a static scanner standing in for Trivy), content trust,
// chart repositories, GC, quotas, retention, immutability, webhooks,
// replication (to itself), and LDAP login against a real OpenLDAP slapd
// (internal/slapdtest; without slapd installed the Ldap operations are
// skipped, in CI its absence fails). LDAP and OIDC exclude each other, so
// a second server runs in OIDC auth mode against a real OpenID provider
// (internal/oidctest: zitadel's, in process): a user logs in there
// without a browser, reads their CLI secret in /users/current
// (oidc_user_meta), replaces it with setCliSecret, and GET /v2/ with
// basic auth (docker login) takes the new secret and refuses the old;
// pingOIDC pings that provider. There is no P2P provider: the preheat
// operations show what go-client gets without one.
//
// The package is its own module so that berth's main module never
// depends on go-client and its go-openapi stack; the repository's
// workspace lists it, so from the repository root
//
//	go test ./compat/harbor/...
package harbor
