package ui

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestArtifactKind(t *testing.T) {
	tag := func(n string) []struct{ Name string } { return []struct{ Name string }{{n}} }
	for _, tt := range []struct {
		a    artifact
		want string
	}{
		{artifact{Type: "IMAGE", ManifestMediaType: "application/vnd.oci.image.manifest.v1+json"}, "art.kind.image"},
		{artifact{Type: "IMAGE", ManifestMediaType: "application/vnd.oci.image.index.v1+json"}, "art.kind.index"},
		{artifact{Type: "IMAGE", ManifestMediaType: "application/vnd.docker.distribution.manifest.list.v2+json"}, "art.kind.index"},
		{artifact{Type: "CHART", ArtifactType: "application/vnd.cncf.helm.config.v1+json"}, "art.kind.chart"},
		{artifact{Type: "UNKNOWN", ArtifactType: "application/vnd.dev.cosign.artifact.sig.v1+json"}, "art.kind.signature"},
		{artifact{Type: "UNKNOWN", ArtifactType: "application/vnd.cncf.notary.signature"}, "art.kind.signature"},
		{artifact{Type: "IMAGE", Tags: tag("sha256-0123.sig")}, "art.kind.signature"},
		{artifact{Type: "UNKNOWN", ArtifactType: "application/spdx+json"}, "art.kind.sbom"},
		{artifact{Type: "IMAGE", Tags: tag("sha256-0123.sbom")}, "art.kind.sbom"},
		{artifact{Type: "UNKNOWN", ArtifactType: "application/vnd.example.thing"}, "art.kind.other"},
	} {
		assert.Equal(t, tt.want, tt.a.Kind(), "%+v", tt.a)
	}
}

func TestSeverityBar(t *testing.T) {
	s := &scanSummary{ScanStatus: "Success"}
	assert.Equal(t, "art.scan.none", s.State(), "no report")
	s.Summary = &struct {
		Total   int            `json:"total"`
		Fixable int            `json:"fixable"`
		Summary map[string]int `json:"summary"`
	}{Total: 103, Summary: map[string]int{"Critical": 1, "High": 2, "Low": 100}}
	assert.Empty(t, s.State())
	c := s.Counts()
	assert.Len(t, c, 3)
	assert.Equal(t, []string{"critical", "high", "low"}, []string{c[0].Class, c[1].Class, c[2].Class})
	assert.Equal(t, 2, c[0].W, "a small count stays visible")
	assert.Equal(t, barWidth, c[2].X+c[2].W, "the segments fill the bar")
	s.ScanStatus = "Running"
	assert.Equal(t, "art.scan.running", s.State())
	s.ScanStatus = "Error"
	assert.Equal(t, "art.scan.error", s.State())
}
