package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errCode is the first OCI error code of an error body.
func (r response) errCode() string {
	var b struct{ Errors []struct{ Code string } }
	if json.Unmarshal(r.body, &b) != nil || len(b.Errors) == 0 {
		return ""
	}
	return b.Errors[0].Code
}

// do sends a request to target, a path such as "/v2/" or a Location header
// value, with headers given as name, value pairs.
func (s *serverProc) do(method, target string, body []byte, header ...string) response {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(s.t.Context(), method, s.URL+target, rd)
	require.NoError(s.t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.client.Do(req)
	require.NoError(s.t, err, "%s %s", method, target)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err, "%s %s", method, target)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// withQuery adds a query parameter to a path that may already have some.
func withQuery(target, key, value string) string {
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	return target + sep + key + "=" + url.QueryEscape(value)
}

// startUpload opens an upload session in repo and returns its Location.
func (s *serverProc) startUpload(repo string) string {
	s.t.Helper()
	r := s.do(http.MethodPost, "/v2/"+repo+"/blobs/uploads/", nil)
	require.Equal(s.t, http.StatusAccepted, r.status, string(r.body))
	loc := r.header.Get("Location")
	require.NotEmpty(s.t, loc)
	return loc
}

// pushBlob stores content in repo with one monolithic POST.
func (s *serverProc) pushBlob(repo string, content []byte) digest.Digest {
	s.t.Helper()
	d := digest.FromBytes(content)
	r := s.do(http.MethodPost, withQuery("/v2/"+repo+"/blobs/uploads/", "digest", d.String()), content,
		"Content-Type", "application/octet-stream")
	require.Equal(s.t, http.StatusCreated, r.status, string(r.body))
	require.Equal(s.t, d.String(), r.header.Get("Docker-Content-Digest"))
	return d
}

// requireBlob requires that repo serves d with exactly content.
func (s *serverProc) requireBlob(repo string, d digest.Digest, content []byte) {
	s.t.Helper()
	r := s.do(http.MethodGet, "/v2/"+repo+"/blobs/"+d.String(), nil)
	require.Equal(s.t, http.StatusOK, r.status, string(r.body))
	require.Equal(s.t, d.String(), r.header.Get("Docker-Content-Digest"))
	require.Equal(s.t, d, digest.FromBytes(r.body), "served bytes match the digest")
	require.True(s.t, bytes.Equal(content, r.body), "served bytes are the pushed bytes")
}

// requireNoBlob requires that neither GET nor HEAD finds d in repo.
func (s *serverProc) requireNoBlob(repo string, d digest.Digest) {
	s.t.Helper()
	r := s.do(http.MethodGet, "/v2/"+repo+"/blobs/"+d.String(), nil)
	require.Equal(s.t, http.StatusNotFound, r.status, "GET blob %s: %s", d, r.body)
	require.Equal(s.t, "BLOB_UNKNOWN", r.errCode())
	r = s.do(http.MethodHead, "/v2/"+repo+"/blobs/"+d.String(), nil)
	require.Equal(s.t, http.StatusNotFound, r.status, "HEAD blob %s", d)
}

const manifestType = v1.MediaTypeImageManifest

func (s *serverProc) putManifest(repo, ref string, body []byte) response {
	s.t.Helper()
	return s.do(http.MethodPut, "/v2/"+repo+"/manifests/"+ref, body, "Content-Type", manifestType)
}

// requireManifest requires that repo serves body for ref.
func (s *serverProc) requireManifest(repo, ref string, body []byte) {
	s.t.Helper()
	r := s.do(http.MethodGet, "/v2/"+repo+"/manifests/"+ref, nil, "Accept", manifestType)
	require.Equal(s.t, http.StatusOK, r.status, "GET manifest %s: %s", ref, r.body)
	require.Equal(s.t, manifestType, r.header.Get("Content-Type"))
	require.Equal(s.t, digest.FromBytes(body).String(), r.header.Get("Docker-Content-Digest"))
	require.Equal(s.t, string(body), string(r.body))
}

// requireNoManifest requires that ref is unknown in repo, by GET and HEAD.
func (s *serverProc) requireNoManifest(repo, ref string) {
	s.t.Helper()
	r := s.do(http.MethodGet, "/v2/"+repo+"/manifests/"+ref, nil, "Accept", manifestType)
	require.Equal(s.t, http.StatusNotFound, r.status, "GET manifest %s: %s", ref, r.body)
	require.Equal(s.t, "MANIFEST_UNKNOWN", r.errCode())
	r = s.do(http.MethodHead, "/v2/"+repo+"/manifests/"+ref, nil, "Accept", manifestType)
	require.Equal(s.t, http.StatusNotFound, r.status, "HEAD manifest %s", ref)
}

// tags lists repo's tags; a repository that is unknown has none.
func (s *serverProc) tags(repo string) []string {
	s.t.Helper()
	r := s.do(http.MethodGet, "/v2/"+repo+"/tags/list", nil)
	if r.status == http.StatusNotFound {
		require.Equal(s.t, "NAME_UNKNOWN", r.errCode())
		return nil
	}
	require.Equal(s.t, http.StatusOK, r.status, string(r.body))
	var list struct{ Tags []string }
	require.NoError(s.t, json.Unmarshal(r.body, &list))
	return list.Tags
}

// scrape reads /metrics.
func (s *serverProc) scrape() map[string]*dto.MetricFamily {
	s.t.Helper()
	r := s.do(http.MethodGet, "/metrics", nil)
	require.Equal(s.t, http.StatusOK, r.status)
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(r.body))
	require.NoError(s.t, err)
	return mfs
}

// metricValue sums the counters of family name whose labels include labels.
func metricValue(mfs map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	var sum float64
	mf := mfs[name]
	if mf == nil {
		return 0
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		sum += m.GetCounter().GetValue()
	}
	return sum
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// imageManifest is an OCI image manifest of a config and layers, given as
// their contents.
func imageManifest(t *testing.T, config []byte, layers ...[]byte) []byte {
	t.Helper()
	m := v1.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: manifestType,
		Config:    v1.Descriptor{MediaType: v1.MediaTypeImageConfig, Digest: digest.FromBytes(config), Size: int64(len(config))},
	}
	for _, l := range layers {
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: v1.MediaTypeImageLayer, Digest: digest.FromBytes(l), Size: int64(len(l))})
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

// imageConfig is a minimal image configuration.
func imageConfig(arch string) []byte {
	return []byte(`{"architecture":"` + arch + `","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
}
