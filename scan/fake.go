package scan

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Static is a Scanner that returns the same findings for every artifact,
// for tests and demos. It reads nothing; set Check to look at each request
// (for example to pull the artifact from req.Source), or Err to fail.
type Static struct {
	Info            ScannerInfo
	DBVersion       string
	Vulnerabilities []Vulnerability
	Err             error
	Check           func(ctx context.Context, req Request) error

	mu    sync.Mutex
	calls []Request
}

// Metadata describes the static scanner.
func (s *Static) Metadata(context.Context) (Metadata, error) {
	info := s.Info
	if info.Name == "" {
		info = ScannerInfo{Name: "static", Vendor: "berth", Version: "1"}
	}
	return Metadata{Scanner: info,
		Consumes:   []string{"application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"},
		Produces:   []string{"application/vnd.security.vulnerability.report; version=1.1"},
		Properties: map[string]string{"harbor.scanner-adapter/vulnerability-database-updated-at": s.DBVersion}}, nil
}

// Scan returns the fixed findings.
func (s *Static) Scan(ctx context.Context, req Request) (*Report, error) {
	s.mu.Lock()
	s.calls = append(s.calls, req)
	s.mu.Unlock()
	if s.Check != nil {
		if err := s.Check(ctx, req); err != nil {
			return nil, err
		}
	}
	if s.Err != nil {
		return nil, s.Err
	}
	md, _ := s.Metadata(ctx)
	vs := append([]Vulnerability{}, s.Vulnerabilities...)
	return &Report{Artifact: req.Artifact, Scanner: md.Scanner, DBVersion: s.DBVersion,
		GeneratedAt: time.Now().UTC(), Severity: Worst(vs), Vulnerabilities: vs}, nil
}

// Calls returns the requests scanned so far.
func (s *Static) Calls() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.calls...)
}

// StaticSBOM is an SBOMGenerator that writes a minimal, valid SPDX 2.3 or
// CycloneDX 1.5 document naming the artifact and no packages, for tests.
type StaticSBOM struct{}

// SBOM writes the document.
func (StaticSBOM) SBOM(_ context.Context, req Request, format string) ([]byte, error) {
	ref := req.Artifact.Repository + "@" + req.Artifact.Digest.String()
	switch format {
	case SPDXJSON:
		return json.Marshal(map[string]any{
			"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
			"name": ref, "documentNamespace": "https://berth.dev/spdx/" + req.Artifact.Digest.Encoded(),
			"creationInfo": map[string]any{"created": "2024-01-01T00:00:00Z", "creators": []string{"Tool: berth-static"}},
			"packages":     []any{},
		})
	case CycloneDXJSON:
		return json.Marshal(map[string]any{
			"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
			"metadata": map[string]any{"component": map[string]any{"type": "container", "name": ref}},
		})
	}
	return nil, fmt.Errorf("%w: SBOM format %q", ErrUnsupported, format)
}
