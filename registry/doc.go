// Package registry is an http.Handler for the OCI Distribution Spec v1.1:
// pull, push (monolithic, chunked, streamed, resumable), cross-repository
// mount, manifests of every OCI and Docker v2 type, tags, catalog, the
// referrers API and deletes.
//
// Bytes live once, by digest, in a storage.Driver. Everything else —
// repositories, manifests (including their raw bytes, so a push is a single
// durable transaction), tags, referrers, the blobs each repository may read,
// every manifest → blob and index → manifest reference, and upload sessions —
// lives in SQL through sqldb, so listings are indexed queries and garbage
// collection can follow references instead of walking storage.
//
// The database is embedded SQLite or PostgreSQL shared by several
// processes (migrations/<dialect>/). On PostgreSQL writers run side by
// side: every transaction that changes what a project holds (blob links,
// manifests, tags, usage and quota, garbage verdicts) first locks that
// project's usage row, and a manifest's row, shared by every repository
// holding it, is locked while a holder is added or the last one removed;
// so they meet each other's changes as SQLite's one-at-a-time writers
// do. LockBlob is per process; on a shared database a link also locks
// the digest's garbage-collection queue entry and checks the bytes are
// stored, so another process's run cannot leave a link without them.
//
// Embedding:
//
//	reg, err := registry.New(ctx, memory.New(), nil) // nil db: in-memory SQLite
//	if err != nil { ... }
//	mux := http.NewServeMux()
//	mux.Handle("/v2/", reg)
//
// Manifests are served exactly as pushed, with the media type they were
// pushed with, whatever the Accept header says: berth never converts a
// manifest (conversion would change its digest), and the spec leaves content
// negotiation open. Digests are checked for sha256 and sha512 content.
//
// Reads of hot manifests are served from an exact in-memory cache when the
// process is the database's only writer (see WithManifestCache). Blobs are
// readable only in repositories they were uploaded or mounted into. A mount
// without a source repository succeeds for any stored blob, as the spec
// allows; WithoutAnonymousMount turns that off, WithProjectScopedAnonymousMount
// keeps it inside the target's project, and WithMountSourceFilter to
// repositories the caller may pull.
//
// Resumable upload sessions are bounded per caller, per project and in
// all (WithMaxOpenUploadsPerUser, WithMaxOpenUploadsPerProject,
// WithMaxOpenUploads); a session ends when idle or old (WithUploadTimeouts),
// and ExpireUploads, run every few minutes, frees what ended sessions hold.
//
// The registry knows nothing of users, RBAC, scanners or signatures. Higher
// packages plug in through hooks, all allow-all by default:
//
//   - Authorizer, before every request, with the scopes it needs
//     (repository:<name>:pull,push,delete and registry:catalog:*);
//   - PullGate, before a manifest is served; return Denied(reason) for a
//     412 with a readable message;
//   - PushGate, before a manifest is stored;
//   - EventSink, after every push, pull, mount and delete.
package registry
