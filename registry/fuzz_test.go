package registry

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/storage/memory"
)

// The grammar of the distribution specification, written out independently
// of names.go.
var (
	specNameRE = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
	specTagRE  = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
)

func FuzzParseRoute(f *testing.F) {
	d := "sha256:" + strings.Repeat("a", 64)
	for _, s := range []struct{ path, name, ref string }{
		{"/v2/", "a", "latest"},
		{"/v2/_catalog", "library/nginx", d},
		{"/v2/a/b/tags/list", "a.b_c__d-e", "v1.0"},
		{"/v2/a/manifests/" + d, "tags", "list"},
		{"/v2/a/blobs/uploads/", "blobs/uploads", "uploads"},
		{"/v2/a/blobs/uploads/ID", "manifests", "manifests"},
		{"/v2/a/referrers/" + d, "referrers", "_"},
		{"/v2/a/../b/manifests/x", "a/../b", "x!"},
		{"/v2//blobs/x", "A", strings.Repeat("t", 129)},
		{"/v2/" + strings.Repeat("a/", 200) + "tags/list", strings.Repeat("a", 256), ""},
		{"/v2/a%2fb/tags/list", "a-", "-x"},
		{"/v2/tags/list", "a__b", "a:b"},
	} {
		f.Add(s.path, s.name, s.ref)
	}
	f.Fuzz(func(t *testing.T, path, name, ref string) {
		rt := parseRoute(path)
		_ = RouteName(path)
		switch rt.kind {
		case routeUnknown, routeBase, routeCatalog:
			if rt.name != "" || rt.ref != "" {
				t.Fatalf("route %d of %q has name %q ref %q", rt.kind, path, rt.name, rt.ref)
			}
		default:
			if ValidName(rt.name) && (!specNameRE.MatchString(rt.name) || len(rt.name) > MaxNameLength) {
				t.Fatalf("ValidName accepted %q from %q", rt.name, path)
			}
			if strings.Contains(rt.ref, "/") {
				t.Fatalf("reference %q of %q contains a slash", rt.ref, path)
			}
		}
		if ValidName(name) != (specNameRE.MatchString(name) && len(name) <= MaxNameLength) {
			t.Fatalf("ValidName(%q) = %v disagrees with the spec", name, ValidName(name))
		}
		if ValidTag(ref) != specTagRE.MatchString(ref) {
			t.Fatalf("ValidTag(%q) = %v disagrees with the spec", ref, ValidTag(ref))
		}
		if !ValidName(name) {
			return
		}
		// Every route built from a valid name parses back to that name.
		roundTrip := func(p string, kind routeKind, wantRef string) {
			got := parseRoute(p)
			if got.kind != kind || got.name != name || got.ref != wantRef {
				t.Fatalf("parseRoute(%q) = %+v, want kind %d name %q ref %q", p, got, kind, name, wantRef)
			}
		}
		roundTrip("/v2/"+name+"/tags/list", routeTags, "")
		roundTrip("/v2/"+name+"/blobs/uploads/", routeUploadStart, "")
		roundTrip("/v2/"+name+"/blobs/"+d, routeBlob, d)
		roundTrip("/v2/"+name+"/referrers/"+d, routeReferrers, d)
		roundTrip("/v2/"+name+"/manifests/"+d, routeManifest, d)
		if ValidTag(ref) {
			roundTrip("/v2/"+name+"/manifests/"+ref, routeManifest, ref)
			if ref != "uploads" {
				roundTrip("/v2/"+name+"/blobs/uploads/"+ref, routeUpload, ref)
			}
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	cfg := []byte(`{"os":"linux"}`)
	img := mustJSONFuzz(v1.Manifest{
		Versioned: specsVersioned(), MediaType: MediaTypeOCIManifest,
		Config: descriptorOf(v1.MediaTypeImageConfig, cfg),
		Layers: []v1.Descriptor{descriptorOf(v1.MediaTypeImageLayerGzip, []byte("layer"))},
	})
	withData := mustJSONFuzz(v1.Manifest{
		Versioned: specsVersioned(), MediaType: MediaTypeOCIManifest, ArtifactType: "application/x",
		Config:  v1.Descriptor{MediaType: v1.MediaTypeEmptyJSON, Digest: digest.FromString("{}"), Size: 2, Data: []byte("{}")},
		Layers:  []v1.Descriptor{{MediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar", Digest: digest.FromString("x"), Size: 1, URLs: []string{"https://x"}}},
		Subject: &v1.Descriptor{MediaType: MediaTypeOCIManifest, Digest: digest.FromBytes(cfg), Size: 14},
	})
	idx := mustJSONFuzz(v1.Index{Versioned: specsVersioned(), MediaType: MediaTypeOCIIndex,
		Manifests: []v1.Descriptor{descriptorOf(MediaTypeOCIManifest, img)}})
	for _, s := range []struct {
		body []byte
		ct   string
	}{
		{img, MediaTypeOCIManifest},
		{img, ""},
		{withData, MediaTypeOCIManifest},
		{idx, MediaTypeOCIIndex},
		{idx, MediaTypeDockerList},
		{[]byte(`{"schemaVersion":2,"config":{"digest":"sha512:` + strings.Repeat("0", 128) + `","size":0}}`), ""},
		{[]byte(`{"schemaVersion":2,"manifests":[]}`), ""},
		{[]byte(`{"schemaVersion":2,"manifests":[]}}`), ""},
		{[]byte(`{"schemaVersion":1}`), "application/json"},
		{[]byte(`{"schemaVersion":2,"config":{"digest":"md5:00","size":-1}}`), MediaTypeDockerManifest},
		{[]byte(`null`), ""},
		{[]byte(`{"schemaVersion":2,"config":{"data":"e30=","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}}`), "text/plain; x=1"},
	} {
		f.Add(s.body, s.ct)
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		pm, err := parseManifest(body, contentType)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Code != CodeManifestInvalid || e.Status != http.StatusBadRequest {
				t.Fatalf("error %v is not a 400 MANIFEST_INVALID", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		if !knownManifestType(pm.MediaType) {
			t.Fatalf("accepted media type %q", pm.MediaType)
		}
		all := append(append(append([]v1.Descriptor{}, pm.Blobs...), pm.External...), pm.Children...)
		if pm.Subject != nil {
			all = append(all, *pm.Subject)
		}
		for _, d := range all {
			if _, err := ParseDigest(string(d.Digest)); err != nil {
				t.Fatalf("accepted descriptor digest %q: %v", d.Digest, err)
			}
			if d.Size < 0 {
				t.Fatalf("accepted negative size %d", d.Size)
			}
			if d.Data != nil && d.Digest.Algorithm().FromBytes(d.Data) != d.Digest {
				t.Fatalf("accepted data not matching %s", d.Digest)
			}
		}
		if isIndexType(pm.MediaType) {
			if len(pm.Blobs)+len(pm.External) != 0 {
				t.Fatalf("index with blobs")
			}
		} else if len(pm.Children) != 0 || len(pm.Blobs)+len(pm.External) == 0 {
			t.Fatalf("image manifest with %d children and no config", len(pm.Children))
		}
	})
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"0-0", "0-99", "bytes=0-9", "bytes 10-19/20", "0-9/*", "5-", "-5", "9-1",
		"+1-2", "0-9223372036854775807", "1-9223372036854775807", "0-18446744073709551615", "0-1/", " 1-2 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, end, err := parseContentRange(s)
		if err != nil {
			return
		}
		if start < 0 || start > end {
			t.Fatalf("parseContentRange(%q) = %d, %d", s, start, end)
		}
		if n := end - start + 1; n <= 0 {
			t.Fatalf("parseContentRange(%q) = %d, %d: length %d overflows", s, start, end, n)
		}
	})
}

// FuzzServeHTTP sends arbitrary paths and queries to a registry holding one
// image: no request may panic or fail with a 5xx, and every error carries a
// code of the spec.
func FuzzServeHTTP(f *testing.F) {
	rg, err := New(f.Context(), memory.New(), nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []struct{ method, path, query string }{
		{"GET", "/v2/", ""},
		{"GET", "/v2/_catalog", "n=1&last=a"},
		{"GET", "/v2/a/tags/list", "n=-1"},
		{"HEAD", "/v2/a/manifests/latest", ""},
		{"DELETE", "/v2/a/manifests/sha256:" + strings.Repeat("a", 64), ""},
		{"GET", "/v2/a/blobs/md5:00", ""},
		{"POST", "/v2/a/blobs/uploads/", "mount=sha256:" + strings.Repeat("a", 64) + "&from=b"},
		{"PATCH", "/v2/a/blobs/uploads/x", ""},
		{"PUT", "/v2/a/blobs/uploads/x", "digest=sha256:1"},
		{"GET", "/v2/a/referrers/sha256:" + strings.Repeat("a", 64), "artifactType=x"},
		{"PUT", "/v2/a/manifests/v1", "tag=a&tag=b!"},
	} {
		f.Add(s.method, s.path, s.query)
	}
	codes := map[string]bool{CodeBlobUnknown: true, CodeBlobUploadInvalid: true, CodeBlobUploadUnknown: true,
		CodeDigestInvalid: true, CodeManifestBlobUnknown: true, CodeManifestInvalid: true, CodeManifestUnknown: true,
		CodeNameInvalid: true, CodeNameUnknown: true, CodeUnsupported: true, CodePaginationInvalid: true}
	f.Fuzz(func(t *testing.T, method, path, query string) {
		if !validMethod(method) {
			return
		}
		req := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: query}, Header: http.Header{},
			Body: http.NoBody, Host: "registry"}
		req = req.WithContext(t.Context())
		rec := httptest.NewRecorder()
		rg.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q ?%q: %d %s", method, path, query, rec.Code, rec.Body)
		}
		if rec.Code < 400 || method == http.MethodHead {
			return
		}
		var body errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Errors) != 1 || !codes[body.Errors[0].Code] {
			t.Fatalf("%s %q ?%q: %d with body %q", method, path, query, rec.Code, rec.Body)
		}
	})
}

func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

func specsVersioned() specs.Versioned { return specs.Versioned{SchemaVersion: 2} }

func mustJSONFuzz(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
