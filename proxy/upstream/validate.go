package upstream

import (
	"bytes"
	_ "crypto/sha256" // digests this client verifies
	_ "crypto/sha512"
	"encoding/json"
	"fmt"
	"mime"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/core"
)

// manifestTypes are the manifests a cache may store, in Accept order.
var manifestTypes = []string{
	string(types.OCIImageIndex), string(types.OCIManifestSchema1),
	string(types.DockerManifestList), string(types.DockerManifestSchema2),
}

func isManifestType(mt string) bool {
	for _, t := range manifestTypes {
		if t == mt {
			return true
		}
	}
	return false
}

func isIndexType(mt string) bool {
	return mt == string(types.OCIImageIndex) || mt == string(types.DockerManifestList)
}

func isSchema1(mt string) bool {
	return mt == string(types.DockerManifestSchema1) || mt == string(types.DockerManifestSchema1Signed)
}

// mediaType is a Content-Type without parameters, "" when malformed.
func mediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return mt
}

// descriptor is what validation needs of a content descriptor.
type descriptor struct {
	MediaType string        `json:"mediaType"`
	Digest    digest.Digest `json:"digest"`
	Size      *int64        `json:"size"`
}

func (d *descriptor) check() error {
	if d.MediaType == "" || d.Size == nil || *d.Size < 0 || d.Digest.Validate() != nil {
		return fmt.Errorf("a descriptor lacks a media type, a size or a valid digest")
	}
	return nil
}

// validateManifest accepts body only if it is a manifest a cache may
// store: a JSON object of a known type (its mediaType field, else the
// Content-Type), schema 2, well-formed descriptors, and a digest equal to
// want (when the reference was a digest) and to the Docker-Content-Digest
// header (when the upstream sent one). Its errors are bare: the caller
// names the call.
func validateManifest(body []byte, contentType string, want digest.Digest, headerDigest string) (Descriptor, error) {
	invalid := func(format string, args ...any) (Descriptor, error) {
		return Descriptor{}, localError(core.ErrInvalid, fmt.Sprintf(format, args...))
	}
	var m struct {
		SchemaVersion *int          `json:"schemaVersion"`
		MediaType     string        `json:"mediaType"`
		Config        *descriptor   `json:"config"`
		Layers        []descriptor  `json:"layers"`
		Manifests     *[]descriptor `json:"manifests"`
		Subject       *descriptor   `json:"subject"`
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return invalid("the manifest is not a JSON object")
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return invalid("the manifest is not valid JSON: %s", sanitize(err.Error(), 100))
	}
	ct := mediaType(contentType)
	mt := m.MediaType
	if mt == "" {
		mt = ct
	}
	switch {
	case isSchema1(mt) || (m.SchemaVersion != nil && *m.SchemaVersion == 1):
		return invalid("Docker schema 1 manifests are not supported (the image needs pushing again with a current client)")
	case !isManifestType(mt):
		return invalid("unsupported manifest media type %q", sanitize(mt, 100))
	case m.MediaType != "" && isManifestType(ct) && ct != m.MediaType:
		return invalid("Content-Type %s does not match the manifest's mediaType %s", ct, m.MediaType)
	case m.SchemaVersion == nil || *m.SchemaVersion != 2:
		return invalid("schemaVersion is not 2")
	}
	var refs []descriptor
	if isIndexType(mt) {
		if m.Manifests == nil || m.Config != nil {
			return invalid("an index must list manifests and have no config")
		}
		refs = *m.Manifests
	} else {
		if m.Config == nil || m.Manifests != nil {
			return invalid("an image manifest must have a config and no manifests")
		}
		refs = append(append(refs, *m.Config), m.Layers...)
	}
	if m.Subject != nil {
		refs = append(refs, *m.Subject)
	}
	for i := range refs {
		if err := refs[i].check(); err != nil {
			return invalid("%v", err)
		}
	}

	alg := digest.Canonical
	if want != "" {
		alg = want.Algorithm()
	}
	got := alg.FromBytes(body)
	if want != "" && got != want {
		return invalid("digest mismatch: asked for %s, the upstream sent %s", want, got)
	}
	if headerDigest != "" {
		hd, err := digest.Parse(strings.TrimSpace(headerDigest))
		if err != nil || !hd.Algorithm().Available() {
			return invalid("malformed Docker-Content-Digest %q", sanitize(headerDigest, 80))
		}
		if sent := hd.Algorithm().FromBytes(body); sent != hd {
			return invalid("digest mismatch: Docker-Content-Digest says %s, the body is %s", hd, sent)
		}
	}
	return Descriptor{Digest: got, MediaType: mt, Size: int64(len(body))}, nil
}
