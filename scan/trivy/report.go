package trivy

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	dbtypes "github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/vulnerability"
	ttypes "github.com/aquasecurity/trivy/pkg/types"
	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/scan"
)

// Scan scans req's image and reports its vulnerabilities. Layers already
// in the layer cache are not read again.
func (s *Scanner) Scan(ctx context.Context, req scan.Request) (*scan.Report, error) {
	res, err := s.run(ctx, req, modeVuln)
	if err != nil {
		return nil, err
	}
	out := &scan.Report{
		Artifact:        req.Artifact,
		Scanner:         scannerInfo(),
		DBVersion:       res.db.UpdatedAt.UTC().Format(time.RFC3339),
		GeneratedAt:     time.Now().UTC(),
		Vulnerabilities: []scan.Vulnerability{},
	}
	if out.Artifact.MediaType == "" {
		out.Artifact.MediaType = res.mediaType
	}
	for _, r := range res.report.Results {
		for _, v := range r.Vulnerabilities {
			out.Vulnerabilities = append(out.Vulnerabilities, convert(v))
		}
	}
	slices.SortFunc(out.Vulnerabilities, func(a, b scan.Vulnerability) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Package, b.Package), cmp.Compare(a.Version, b.Version))
	})
	out.Severity = scan.Worst(out.Vulnerabilities)
	return out, nil
}

func convert(v ttypes.DetectedVulnerability) scan.Vulnerability {
	out := scan.Vulnerability{
		ID:          v.VulnerabilityID,
		Package:     v.PkgName,
		Version:     v.InstalledVersion,
		FixVersion:  v.FixedVersion,
		Severity:    severity(v.Severity),
		Title:       v.Title,
		Description: v.Description,
		CWEIDs:      v.CweIDs,
		CVSS:        preferredCVSS(v),
	}
	if v.PkgIdentifier.PURL != nil {
		out.PURL = v.PkgIdentifier.PURL.String()
	}
	if v.Status != dbtypes.StatusUnknown {
		out.Status = v.Status.String()
	}
	if v.PrimaryURL != "" {
		out.Links = append(out.Links, v.PrimaryURL)
	}
	for _, r := range v.References {
		if !slices.Contains(out.Links, r) {
			out.Links = append(out.Links, r)
		}
	}
	if v.Layer.Digest != "" || v.Layer.DiffID != "" {
		out.Layer = &scan.Layer{Digest: digest.Digest(v.Layer.Digest), DiffID: digest.Digest(v.Layer.DiffID)}
	}
	return out
}

// severity maps Trivy's names (UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL).
func severity(name string) scan.Severity {
	s, err := scan.ParseSeverity(name)
	if err != nil || s == scan.None {
		return scan.Unknown
	}
	return s
}

// preferredCVSS takes the scores of the source the severity came from,
// then NVD's, then any source's (in name order).
func preferredCVSS(v ttypes.DetectedVulnerability) *scan.CVSS {
	if len(v.CVSS) == 0 {
		return nil
	}
	pick := func(id dbtypes.SourceID) *scan.CVSS {
		c, ok := v.CVSS[id]
		if !ok {
			return nil
		}
		return &scan.CVSS{ScoreV3: c.V3Score, ScoreV2: c.V2Score, VectorV3: c.V3Vector, VectorV2: c.V2Vector}
	}
	if c := pick(v.SeveritySource); c != nil {
		return c
	}
	if c := pick(vulnerability.NVD); c != nil {
		return c
	}
	ids := make([]string, 0, len(v.CVSS))
	for id := range v.CVSS {
		ids = append(ids, string(id))
	}
	slices.SortFunc(ids, strings.Compare)
	return pick(dbtypes.SourceID(ids[0]))
}
