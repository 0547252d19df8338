package trivy

import (
	"bytes"
	"context"
	"fmt"

	"github.com/aquasecurity/trivy/pkg/report/cyclonedx"
	"github.com/aquasecurity/trivy/pkg/report/spdx"
	ttypes "github.com/aquasecurity/trivy/pkg/types"

	"github.com/berthlabs/berth/scan"
)

// SBOM writes req's software bill of materials with Trivy's SBOM writers:
// format scan.SPDXJSON (SPDX 2.3 JSON) or scan.CycloneDXJSON (CycloneDX
// JSON). It needs no vulnerability DB. Layers are analysed with file
// checksums (as `trivy image --format spdx-json` does), so the layer cache
// holds them apart from the vulnerability scan's.
func (s *Scanner) SBOM(ctx context.Context, req scan.Request, format string) ([]byte, error) {
	if format != scan.SPDXJSON && format != scan.CycloneDXJSON {
		return nil, fmt.Errorf("trivy: SBOM format %q (want %s or %s): %w", format, scan.SPDXJSON, scan.CycloneDXJSON, scan.ErrUnsupported)
	}
	res, err := s.run(ctx, req, modeSBOM)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	version := scannerInfo().Version
	switch format {
	case scan.SPDXJSON:
		err = spdx.NewWriter(&buf, version, ttypes.FormatSPDXJSON).Write(ctx, res.report)
	case scan.CycloneDXJSON:
		err = cyclonedx.NewWriter(&buf, version).Write(ctx, res.report)
	}
	if err != nil {
		return nil, fmt.Errorf("trivy: write SBOM: %w", err)
	}
	return buf.Bytes(), nil
}
