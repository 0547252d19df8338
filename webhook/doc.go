// Package webhook tells receivers over HTTP about what happens in a
// project, as Harbor's project webhooks do, with signed bodies and
// durable deliveries.
//
// A Policy of a project subscribes to event types (Harbor's names:
// PUSH_ARTIFACT, PULL_ARTIFACT, DELETE_ARTIFACT, SCANNING_COMPLETED,
// SCANNING_FAILED, SCANNING_STOPPED, QUOTA_EXCEED, QUOTA_WARNING,
// REPLICATION, TAG_RETENTION) and names up to MaxTargets targets: http or
// https URLs, each with an optional Authorization header (sealed at rest)
// and a payload format, Harbor's Default JSON (Payload) or CloudEvents 1.0
// in structured JSON mode (CloudEvent). Policies and the delivery log are
// rows in SQL keyed by the project's immutable id.
//
// # Use
//
//	svc, err := webhook.NewService(ctx, db,  // applies its migrations
//		webhook.WithQueue(runner),            // *jobs.Runner
//		webhook.WithProjects(projects),       // *project.Store
//		webhook.WithProjectLookup(lookup),    // optional: names projects by id
//		webhook.WithSecretKey(key),           // seals secrets and auth headers
//		webhook.WithRegistryHost("reg.example"))
//	err = svc.Register(workers)              // before the runner starts
//	registry.WithEventSink(svc.Sink())       // pushes, pulls, deletions
//	projects.OnDelete(func(ctx context.Context, tx *sqldb.Tx, p project.Project) error {
//		return svc.ForgetProject(ctx, tx, p.ID)
//	})
//	_, err = svc.Resume(ctx)                 // optional, after the runner starts
//
//	p, err := svc.Create(ctx, webhook.Policy{ProjectID: 7, Name: "ci", Enabled: true,
//		EventTypes: []webhook.EventType{webhook.PushArtifact},
//		Targets:    []webhook.Target{{Address: "https://ci.example/hook"}}})
//	fmt.Println(p.Secret) // shown once: the receiver's verification key
//
//	err = svc.Emit(ctx, webhook.Event{Type: webhook.ScanningCompleted, ProjectID: 7, ...})
//	ds, total, err := svc.Deliveries(ctx, 7, p.ID, core.Page{Limit: 20})
//
// # Delivery
//
// Emit (and the Sink, for registry events) only writes a pending delivery
// per subscribed target and enqueues a durable job (package jobs); it
// does no network I/O, so a receiver that hangs never slows a push. The
// job POSTs the body with a timeout (WithTimeout, 10s), follows no
// redirects, reads at most 64 KiB of the answer and discards it, and
// counts any 2xx as success. A failed attempt is logged (status, HTTP
// status, the reason, never the response body) and the next one is
// queued after WithBackoff's wait (30s, doubling, up to an hour), until
// WithMaxAttempts (8) attempts have failed. Each attempt is a job of its
// own in the database, so deliveries survive restarts. A delivery whose
// policy was deleted or disabled, or whose target was removed, is
// dropped when its turn comes.
//
// # Verifying a delivery
//
// Every delivery carries:
//
//	X-Berth-Signature-256: sha256=<hex HMAC-SHA256 of the exact body, keyed with the policy's secret>
//	X-Berth-Delivery: <delivery id, the same on every attempt>
//	X-Berth-Event: PUSH_ARTIFACT
//
// A receiver reads the raw body, checks the signature with Verify (or any
// HMAC-SHA256 implementation, comparing in constant time) before it
// parses anything, and drops deliveries it has handled already. Only the
// body is signed: for replay protection, reject bodies whose occur_at
// (Default) or time (CloudEvents) is too old, and, in CloudEvents, use the
// signed "id", which equals X-Berth-Delivery.
//
//	func hook(w http.ResponseWriter, r *http.Request) {
//		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
//		if err != nil || !webhook.Verify(secret, body, r.Header.Get(webhook.HeaderSignature)) {
//			http.Error(w, "bad signature", http.StatusUnauthorized)
//			return
//		}
//		var p webhook.Payload
//		_ = json.Unmarshal(body, &p)
//		w.WriteHeader(http.StatusNoContent)
//	}
package webhook
