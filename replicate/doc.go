// Package replicate copies images and other OCI artifacts between
// registries, as Harbor's replication does: for backup, proximity and
// load sharing.
//
// It works on its own, between any two OCI distribution registries
// (berth, Harbor, CNCF Distribution, zot, Docker Hub, GHCR…):
//
//	src := &replicate.Endpoint{Name: "hub", URL: "https://registry-1.docker.io"}
//	dst := &replicate.Endpoint{Name: "dc2", URL: "https://registry.dc2.example",
//		Username: "robot$mirror", Password: secret}
//	cp, err := replicate.NewCopier(src, dst, replicate.WithBandwidth(10240)) // 10 MB/s
//	res, err := cp.Copy(ctx, "library/nginx", "1.27", "mirror/nginx", []string{"1.27"}, false)
//
// A Copier moves only what the destination lacks: an artifact whose
// manifest digest is already there is skipped; of the others, blobs the
// destination holds are not sent (HEAD first), blobs another repository of
// the destination holds are mounted, and the rest are uploaded in chunks
// (WithChunkSize) so an interrupted upload resumes from the last chunk the
// destination acknowledged, even across a restart of the destination.
// Every byte is checked against its digest before the destination is asked
// to commit it; manifests are read with a 4 MiB bound and checked too.
// Multi-platform indexes are copied whole, and referrers (signatures,
// SBOMs, scan reports) travel with their subject, through the referrers API
// or, where a registry lacks it, the referrers tag schema. A 429 or 503
// answer with Retry-After is waited out.
//
// Endpoints authenticate with Basic credentials or the bearer token flow
// (go-containerregistry's transport negotiates which), over TLS with
// optional extra CAs or, per endpoint, without verification. Ping is the
// health check.
//
// A Policy selects what to replicate — Filters on repository name and tag
// (globs with '**', matches and excludes), labels and artifact type —
// and where: push mode (local → remote) or pull mode (remote → local), a
// destination namespace rewrite (Rewrite), override or keep existing tags,
// replication of deletions. Filters and rewrites are plain values and pure
// functions (MatchRepository, MatchTag, MatchArtifact, Rewrite.Apply),
// testable with no network. A label filter reads an artifact's
// annotations and its image config's labels; a filter naming a label
// without a value ("prod") also matches the registry labels (Harbor's,
// package label) that a local artifact carries, given to a push policy's
// executions by WithLocalLabels (or to a Copier by WithSourceLabels).
//
// Classic Helm chart repositories replicate too, in the policies whose
// resource filter selects charts (SelectsCharts: "chart", "*", or only
// excludes of other types; a policy without a resource filter replicates
// artifacts only, as an endpoint need not serve chart repositories). Each
// chart version (archive and .prov) moves over the ChartMuseum API at
// Harbor's paths (/api/chartrepo/{project}/charts, /chartrepo/{project}/
// charts/{file}), to or from any endpoint serving it (berth, Harbor with
// ChartMuseum); name filters see project/chart, tag filters the version.
// The archive is checked against the source's listed digest; a version
// the destination holds with the same digest is skipped, one with another
// digest replaced only with Override (otherwise its task fails, saying
// so). The local chart repositories are given by WithLocalCharts.
//
// A Service stores endpoints (passwords sealed with AES-GCM under
// WithSecretKey), policies, executions and tasks in SQL (sqldb), runs each
// execution as a durable job (package jobs: it survives a restart and
// resumes) with one task per artifact, a per-task log, retries with
// exponential backoff, a concurrency limit and a bandwidth limit, and
// starts executions manually, on a cron schedule (robfig/cron; five fields,
// or six with seconds first as Harbor writes them) or on events: it is a
// registry.EventSink, and a push or delete in a matching local repository
// starts an execution within a fraction of a second. Several processes
// may run the service on one database (PostgreSQL): each runs the
// schedules, and a tick starts one execution, by the first process to
// claim it; each reads the scheduled policies again every minute, for
// those that others created or changed.
//
//	svc, err := replicate.NewService(ctx, db, reg.Transport("replication"), runner,
//		replicate.WithSecretKey(key))
//	svc.Register(workers) // before the runner starts
//	err = svc.Start(ctx)
//	// and registry.WithEventSink(svc) on the local registry
package replicate
