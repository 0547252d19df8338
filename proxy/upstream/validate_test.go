package upstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/core"
)

const (
	seedManifest = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}]}`
	seedIndex    = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"platform":{"architecture":"amd64","os":"linux"}}]}`
	seedDocker   = `{"schemaVersion":2,"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`
	seedSchema1  = `{"schemaVersion":1,"name":"x","tag":"v1","architecture":"amd64","fsLayers":[],"signatures":[]}`
)

// FuzzValidateManifest: no input panics, and what is accepted is a JSON
// object of a known manifest type whose digest is the one asked for and
// the one the header claims.
func FuzzValidateManifest(f *testing.F) {
	for _, s := range []struct {
		body, contentType, want, header string
		wantBody                        bool
	}{
		{seedManifest, "application/vnd.oci.image.manifest.v1+json", "", "", true},
		{seedIndex, "application/vnd.oci.image.index.v1+json; charset=utf-8", "", "", false},
		{seedDocker, "application/vnd.docker.distribution.manifest.v2+json", "", digest.FromString(seedDocker).String(), false},
		{seedDocker, "application/vnd.docker.distribution.manifest.v2+json", "", "sha256:0", false},
		{seedSchema1, "application/vnd.docker.distribution.manifest.v1+prettyjws", "", "", false},
		{seedManifest, "", "sha512:" + digest.SHA512.FromString(seedManifest).Encoded(), "", false},
		{`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":null}`, "", "", "", true},
		{`  {}  `, "application/json", "", "", false},
		{"\xff{", "", "", "", false},
		{`{"schemaVersion":2.0,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"a","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":-1}}`, "", "", "", true},
	} {
		f.Add([]byte(s.body), s.contentType, s.want, s.header, s.wantBody)
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType, wantStr, header string, wantBodyDigest bool) {
		var want digest.Digest
		if d, err := digest.Parse(wantStr); err == nil && d.Algorithm().Available() {
			want = d // callers check the digest they ask for before fetching
		}
		if wantBodyDigest {
			want = digest.FromBytes(body)
		}
		d, err := validateManifest(body, contentType, want, header)
		if err != nil {
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("a rejection is ErrInvalid, got %v", err)
			}
			return
		}
		if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(body) {
			t.Fatalf("accepted something that is not a JSON object: %q", body)
		}
		var m struct {
			SchemaVersion json.Number `json:"schemaVersion"`
		}
		if json.Unmarshal(body, &m) != nil || m.SchemaVersion.String() != "2" {
			t.Fatalf("accepted schemaVersion %q", m.SchemaVersion)
		}
		if !isManifestType(d.MediaType) || d.Size != int64(len(body)) {
			t.Fatalf("accepted %+v", d)
		}
		if want != "" && d.Digest != want || want == "" && d.Digest != digest.FromBytes(body) {
			t.Fatalf("digest %s, asked for %q", d.Digest, want)
		}
		if header != "" {
			if hd, err := digest.Parse(header); err != nil || hd.Algorithm().FromBytes(body) != hd {
				t.Fatalf("accepted a body that does not match Docker-Content-Digest %q", header)
			}
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"": 0, "0": 0, "-5": 0, "12": 12 * time.Second, "999999": time.Hour, "soon": 0,
		now.Add(42 * time.Second).Format(http.TimeFormat): 42 * time.Second, now.Add(-time.Minute).Format(http.TimeFormat): 0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestSanitize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"plain text", 20, "plain text"},
		{"  line\nbreak\r\n\tand  ", 20, "line break and"},
		{"\x1b[31mred\x00é", 20, "?[31mred??"},
		{"0123456789abc", 10, "0123456789..."},
	} {
		if got := sanitize(tc.in, tc.n); got != tc.want {
			t.Errorf("sanitize(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
