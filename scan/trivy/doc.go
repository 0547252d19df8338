// Package trivy scans images in a berth registry with Trivy (v0.74) used
// as a library, and writes their SBOMs with Trivy's SPDX and CycloneDX
// writers. *Scanner implements scan.Scanner and scan.SBOMGenerator.
//
// It is a Go module of its own (github.com/berthlabs/berth/scan/trivy) so
// that Trivy's ~370 modules stay out of every program that imports only
// berth's registry, rbac or storage packages. Trivy needs the jsonv2
// experiment: build and test this module with GOEXPERIMENT=jsonv2.
//
// # Reading images
//
// A scan.Request names a manifest and the registry to read it from:
// berth's own, in-process through registry.Transport (no credentials, no
// pull gate), or any registry through an authenticating transport. The
// image is read with go-containerregistry over that transport and handed
// to Trivy's image artifact: manifest and config are fetched once, and
// only layers missing from the layer cache are streamed and analysed —
// nothing is copied to disk. An image that shares its base layers with one
// already scanned costs only its new layers.
//
// # Vulnerability DB
//
// The DB is an OCI artifact (Trivy's format: one tar+gzip layer holding
// trivy.db and metadata.json) read from Trivy's public repositories or any
// repository given with WithDBRepository — for air-gapped sites, a
// repository inside berth, read through registry.Transport. New downloads
// it when the DB directory holds none; UpdateDB and WithUpdateSchedule
// refresh it when the repository's manifest changes. A download runs
// while scans continue; the new DB is swapped in between scans, never
// during one.
//
// # Trivy's process-wide state
//
//   - The DB handle is global in trivy-db: only one Scanner may be open in
//     a process (New fails while another is), and a package lock orders
//     scans (readers) against DB swaps (writer).
//   - Trivy's file analyzers are process-wide singletons that each new
//     image artifact re-initialises, so analysing two images at once is a
//     data race: layer analysis runs one image at a time in the process
//     (each image's layers in parallel), while DB lookups run concurrently.
//   - Trivy logs through the slog default and, when imported, replaces it
//     with a handler that buffers forever; see WithLogger.
//   - The options Trivy's CLI fills in are set here: package types (OS and
//     library), relationships, severity sources ("auto": the
//     distribution's, then NVD's), and the analyzers `trivy image
//     --scanners vuln` disables. The jar analyzer is off too: it needs
//     Trivy's Java DB, which this package does not download, so Java
//     archives are not scanned.
//   - Nothing else reaches the network: the version check and its
//     telemetry live in Trivy's CLI packages, which are not linked;
//     analyzers run offline; SBOM discovery (OCI referrers, Rekor) is off.
//
// Trivy's temporary files go to one directory per process under
// os.TempDir ("trivy-*"), which this package does not remove: Trivy cannot
// recreate it within the same process.
//
// Usage:
//
//	rg, _ := registry.New(ctx, storage, db)
//	s, err := trivy.New(ctx,
//		trivy.WithDBRepository("berth.internal/security/trivy-db:2", rg.Transport("trivy-db"), false),
//		trivy.WithDBDir(filepath.Join(dataDir, "trivy", "db")),
//		trivy.WithCacheDir(filepath.Join(dataDir, "trivy", "cache")),
//		trivy.WithUpdateSchedule("@every 12h"),
//		trivy.WithLogger(logger),
//	)
//	if err != nil { ... }
//	defer s.Close()
//	report, err := s.Scan(ctx, scan.Request{
//		Artifact: scan.Artifact{Repository: "team/app", Digest: dgst},
//		Source:   scan.Source{Registry: "berth.internal", Transport: rg.Transport("scanner")},
//	})
package trivy
