// Package adapter speaks Harbor's Pluggable Scanner API (v1.0 to v1.2) in
// both directions.
//
// As a client, it plugs any existing Harbor scanner adapter into berth: a
// Client is a scan.Scanner that posts the scan request (with the
// registry's URL and a credential to pull with), polls the report while
// the adapter answers 302 with Refresh-After, and converts the report
// (version 1.0 or 1.1) into berth's model.
//
//	c, err := adapter.NewClient("http://trivy-adapter:8080",
//		adapter.WithAuth(scan.AuthBearer, token))
//	report, err := c.Scan(ctx, scan.Request{Artifact: art, Source: src})
//
// A Client is also a scan.SBOMGenerator for adapters with the sbom
// capability (spec 1.2).
//
// In a scan.Service, registrations added through the API become clients
// through NewClientFor:
//
//	svc, err := scan.NewService(ctx, db, scan.WithAdapters(adapter.NewClientFor, source), ...)
//
// As a server, it lets Harbor (or another berth) use berth's scanner: a
// Server is an http.Handler serving /api/v1/metadata, /api/v1/scan and
// /api/v1/scan/{id}/report with any scan.Scanner, and the SBOM capability
// with a scan.SBOMGenerator.
//
//	srv := adapter.NewServer(scanner, adapter.WithSBOM(generator),
//		adapter.WithAuthorizer(adapter.RequireToken(token)))
//	http.Handle("/", srv)
//
// Bodies are bounded (scan requests 64 KiB, metadata 1 MiB, reports
// DefaultMaxReport), and refusals carry the specification's error shape
// ({"error":{"message":...}}) and status: 400 for malformed JSON, 422 for
// invalid fields, 404 for unknown scan IDs, 501 for capabilities or report
// types the scanner lacks, 500 for failed scans.
package adapter
