package trivy

import (
	"context"
	"fmt"
	"slices"

	tdb "github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	dbtypes "github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy/pkg/fanal/analyzer"
	"github.com/aquasecurity/trivy/pkg/fanal/applier"
	"github.com/aquasecurity/trivy/pkg/fanal/artifact"
	artimage "github.com/aquasecurity/trivy/pkg/fanal/artifact/image"
	ftypes "github.com/aquasecurity/trivy/pkg/fanal/types"
	tscan "github.com/aquasecurity/trivy/pkg/scan"
	"github.com/aquasecurity/trivy/pkg/scan/langpkg"
	"github.com/aquasecurity/trivy/pkg/scan/local"
	"github.com/aquasecurity/trivy/pkg/scan/ospkg"
	ttypes "github.com/aquasecurity/trivy/pkg/types"
	"github.com/aquasecurity/trivy/pkg/vulnerability"

	"github.com/berthlabs/berth/scan"
)

// disabledAnalyzers are the analyzers the Trivy CLI turns off for
// `trivy image --scanners vuln`, plus the jar analyzer, which needs the
// Java DB (a second download this package does not make) and fails
// without it.
var disabledAnalyzers = slices.Concat(
	analyzer.TypeLockfiles,   // `trivy image` reads installed packages, not lock files
	analyzer.TypeConfigFiles, // no misconfiguration scanning
	[]analyzer.Type{
		analyzer.TypeApkCommand,        // removed-package guessing is opt-in in the CLI
		analyzer.TypeSecret,            // no secret scanning
		analyzer.TypeLicenseFile,       // full license scanning is opt-in
		analyzer.TypeHistoryDockerfile, // image-config misconfiguration is opt-in
		analyzer.TypeExecutable,        // only for Rekor SBOM lookups (network)
		analyzer.TypeRpmArchive,        // experimental in the CLI
		analyzer.TypeJar,               // needs the Java DB
	},
)

// mode is what a run produces.
type mode int

const (
	modeVuln mode = iota
	modeSBOM
)

// artifactOption is what the CLI's flag parsing would fill in.
func (s *Scanner) artifactOption(m mode) artifact.Option {
	return artifact.Option{
		DisabledAnalyzers: disabledAnalyzers,
		Parallel:          s.cfg.parallel,
		NoProgress:        true,
		Offline:           true,          // analyzers never reach out (e.g. Maven lookups)
		FileChecksum:      m == modeSBOM, // SPDX and CycloneDX carry file digests, as in the CLI
	}
}

// scanOptions are the CLI's defaults that a library caller must set
// itself: without PkgTypes nothing is detected, without severity sources
// every severity is UNKNOWN.
func scanOptions(m mode) ttypes.ScanOptions {
	o := ttypes.ScanOptions{
		PkgTypes:            []string{ttypes.PkgTypeOS, ttypes.PkgTypeLibrary},
		PkgRelationships:    ftypes.Relationships,
		Scanners:            ttypes.Scanners{ttypes.VulnerabilityScanner},
		VulnSeveritySources: []dbtypes.SourceID{"auto"},
	}
	if m == modeSBOM {
		o.Scanners = ttypes.Scanners{ttypes.SBOMScanner}
	}
	return o
}

// runResult is Trivy's report with what the scan was made with.
type runResult struct {
	report    ttypes.Report
	mediaType string            // the manifest's
	db        metadata.Metadata // the DB the scan used
}

// analysisMu serialises image analysis in the process. Trivy's file
// analyzers are process-wide singletons that every new image artifact
// re-initialises (analyzer.NewAnalyzerGroup calls Init on the shared
// instances), so building an artifact while another scan's analyzers run
// is a data race. Analysis — reading the layers missing from the cache —
// runs one image at a time (its layers in parallel, see WithParallel);
// vulnerability detection runs concurrently. A one-slot channel rather
// than a mutex, so that a scan waiting for its turn honours its context.
var analysisSlot = make(chan struct{}, 1)

// run scans req with Trivy.
func (s *Scanner) run(ctx context.Context, req scan.Request, m mode) (runResult, error) {
	img, mediaType, err := openImage(ctx, req)
	if err != nil {
		return runResult{}, err
	}
	art, err := s.inspect(ctx, img, m)
	if err != nil {
		return runResult{}, err
	}
	backend := local.NewService(applier.NewApplier(s.cache), ospkg.NewScanner(), langpkg.NewScanner(),
		vulnerability.NewClient(tdb.Config{}))
	svc := tscan.NewService(backend, art)

	// Hold the DB while detecting: an update waits until it is done.
	global.RLock()
	defer global.RUnlock()
	if global.owner != s {
		return runResult{}, errClosed
	}
	if m == modeVuln && !s.open {
		return runResult{}, ErrNoDB
	}
	rep, err := svc.ScanArtifact(ctx, scanOptions(m))
	if err != nil {
		return runResult{}, fmt.Errorf("trivy: scan %s: %w", img.Name(), err)
	}
	return runResult{report: rep, mediaType: mediaType, db: s.meta}, nil
}

// inspect analyses img's layers that are missing from the layer cache and
// returns an artifact whose Inspect answers with that analysis.
func (s *Scanner) inspect(ctx context.Context, img registryImage, m mode) (artifact.Artifact, error) {
	select {
	case analysisSlot <- struct{}{}:
		defer func() { <-analysisSlot }()
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done:
		return nil, errClosed
	}
	art, err := artimage.NewArtifact(img, s.cache, s.artifactOption(m))
	if err != nil {
		return nil, fmt.Errorf("trivy: %w", err)
	}
	ref, err := art.Inspect(ctx)
	if err != nil {
		return nil, fmt.Errorf("trivy: analyse %s: %w", img.Name(), err)
	}
	return inspected{Artifact: art, ref: ref}, nil
}

// inspected is an artifact already analysed.
type inspected struct {
	artifact.Artifact
	ref artifact.Reference
}

func (i inspected) Inspect(context.Context) (artifact.Reference, error) { return i.ref, nil }
