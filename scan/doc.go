// Package scan finds known vulnerabilities in registry artifacts and acts on
// them: the Scanner interface and report model, report storage, scan jobs
// (on push, scheduled, manual), the severity gate with CVE allowlists, and
// SBOM referrers.
//
// Scanners live in sub-packages so their weight stays out of this one:
// scan/trivy embeds Trivy (its own Go module), scan/adapter speaks Harbor's
// Pluggable Scanner API as a client and as a server.
//
// # The gate
//
// The decision is a pure function of a project's Policy and what is known
// of an artifact (Evidence), testable with no scanner:
//
//	d := scan.Evaluate(scan.Policy{Enabled: true, Threshold: scan.High,
//		Allowlist: scan.Allowlist{Items: []string{"CVE-2024-1234"}}}, evidence, time.Now())
//	if !d.Allowed {
//		fmt.Println(d.Reason) // "2 vulnerabilities at or above the project's severity threshold High (...): CVE-..."
//	}
//
// Service.Gate wraps it as a registry.PullGate: 412 with the reason, for
// image manifests of projects with PreventVulnerable; manifests with a
// subject (signatures, SBOMs), indexes (their platform manifests are gated
// one by one), other artifacts and exempt callers pass.
//
// # The service
//
// A Service keeps reports (keyed by artifact digest, scanner and
// vulnerability database version), tasks with their logs, allowlists,
// scanner registrations and the scan-all schedule in SQL, and runs scans,
// SBOM generation and scan-all as durable jobs (package jobs):
//
//	svc, err := scan.NewService(ctx, db,
//		scan.WithQueue(runner),                 // *jobs.Runner
//		scan.WithProjects(projects),            // *project.Store
//		scan.WithRegistry(reg, "scanner"),      // reads through reg.Transport
//		scan.WithScanner("Trivy", trivyScanner), // optional built-in scanner
//		scan.WithSBOMGenerator(trivyScanner),   // optional
//		scan.WithAdapters(adapter.NewClientFor, source))
//	err = svc.Register(workers)                 // before the runner starts
//	registry.WithPullGate(svc.Gate())
//	registry.WithEventSink(svc.Sink())          // scan on push
//	err = svc.StartSchedule(ctx)                // scan-all on its cron schedule
//	defer svc.Close()
//
//	task, err := svc.ScanArtifact(ctx, art, scan.TriggerManual) // one image manifest
//	tasks, err := svc.ScanImages(ctx, art, scan.TriggerManual)  // an image, or an index's images
//	report, info, err := svc.Report(ctx, art.Digest.String())
//	log, err := svc.TaskLog(ctx, task.ID)
//	task, err = svc.StopScan(ctx, art.Digest.String())
//
// SBOMs (GenerateSBOM) are written by the SBOMGenerator, or else by the
// project's scanner when it is one (an adapter with the sbom capability),
// and stored in the registry as OCI referrers of the artifact with
// artifactType SPDXJSON or CycloneDXJSON; FetchSBOM reads the newest back.
//
// Tasks and their logs, and reports superseded by newer ones, are pruned
// after WithHistory by each scan-all; the newest of each artifact stays.
//
// Static and StaticSBOM are a fixed-findings Scanner and a minimal SBOM
// generator for tests.
package scan
