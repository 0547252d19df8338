package adapter_test

import (
	"testing"

	"github.com/berthlabs/berth/scan/adapter"
)

var consumes = []string{"application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"}

func FuzzParseScanRequest(f *testing.F) {
	f.Add([]byte(`{"registry":{"url":"http://r:5000","authorization":"Basic eA=="},"artifact":{"repository":"a/b","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","mime_type":"application/vnd.oci.image.manifest.v1+json"}}`))
	f.Add([]byte(`{"registry":{"url":"https://r"},"artifact":{"repository":"a","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000"},"enabled_capabilities":[{"type":"sbom","parameters":{"sbom_media_types":["application/spdx+json"]}}]}`))
	f.Add([]byte(`{"registry":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		sr, err := adapter.ParseScanRequest(b, consumes, true)
		if err == nil && (sr.Artifact.Repository == "" || sr.Registry.URL == "") {
			t.Fatalf("accepted a request without repository or registry: %s", b)
		}
	})
}

func FuzzParseReport(f *testing.F) {
	f.Add([]byte(`{"generated_at":"2024-01-01T00:00:00Z","severity":"High","vulnerabilities":[{"id":"CVE-1","severity":"High","preferred_cvss":{"score_v3":9.8},"layer":{"digest":"sha256:00"}}]}`))
	f.Add([]byte(`{"vulnerabilities":[{"id":"","severity":"Severe"}]}`))
	f.Add([]byte(`{"vulnerabilities":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := adapter.ParseReport(b)
		if err == nil {
			for _, v := range r.Vulnerabilities {
				if v.ID == "" {
					t.Fatal("accepted a finding without id")
				}
			}
		}
	})
}

func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte(`{"scanner":{"name":"Trivy","vendor":"Aqua","version":"0.50"},"capabilities":[{"consumes_mime_types":["a"],"produces_mime_types":["b"]}],"properties":{"k":"v"}}`))
	f.Add([]byte(`{"scanner":{},"capabilities":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		md, err := adapter.ParseMetadata(b)
		if err == nil && (md.Scanner.Name == "" || len(md.Capabilities) == 0) {
			t.Fatalf("accepted metadata without name or capabilities: %s", b)
		}
	})
}

func FuzzParseScanResponse(f *testing.F) {
	f.Add([]byte(`{"id":"3fa85f64-5717-4562-b3fc-2c963f66afa6"}`))
	f.Add([]byte(`{"id":"../../etc"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := adapter.ParseScanResponse(b)
		if err == nil && id == "" {
			t.Fatal("accepted an empty id")
		}
	})
}
