package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"strings"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Manifest media types the registry stores.
const (
	MediaTypeOCIManifest    = v1.MediaTypeImageManifest
	MediaTypeOCIIndex       = v1.MediaTypeImageIndex
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaTypeDockerForeign  = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
)

func isIndexType(mt string) bool { return mt == MediaTypeOCIIndex || mt == MediaTypeDockerList }

func knownManifestType(mt string) bool {
	switch mt {
	case MediaTypeOCIManifest, MediaTypeOCIIndex, MediaTypeDockerManifest, MediaTypeDockerList:
		return true
	}
	return false
}

// rawManifest is the union of the fields berth reads from image manifests
// and indexes. Unknown fields are ignored here and kept in the stored bytes.
type rawManifest struct {
	SchemaVersion *int              `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *v1.Descriptor    `json:"config"`
	Layers        []v1.Descriptor   `json:"layers"`
	Manifests     []v1.Descriptor   `json:"manifests"`
	Subject       *v1.Descriptor    `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
}

// parsedManifest is what the registry indexes from a manifest.
type parsedManifest struct {
	MediaType    string
	ArtifactType string
	Subject      *v1.Descriptor
	Annotations  map[string]string
	Blobs        []v1.Descriptor // config and layers that must exist
	External     []v1.Descriptor // non-distributable or data-carrying: recorded, not required
	Children     []v1.Descriptor // index entries
}

// parseManifest validates a manifest body against the declared Content-Type.
// Errors are *Error values with MANIFEST_INVALID.
func parseManifest(body []byte, contentType string) (*parsedManifest, error) {
	invalid := func(format string, a ...any) error {
		return newError(400, CodeManifestInvalid, fmt.Sprintf(format, a...))
	}
	if err := checkKeys(body); err != nil {
		return nil, invalid("%v", err)
	}
	var raw rawManifest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&raw); err != nil {
		return nil, invalid("manifest is not valid JSON: %v", err)
	}
	if len(bytes.Trim(body[dec.InputOffset():], " \t\r\n")) != 0 {
		return nil, invalid("manifest has trailing data after the JSON object")
	}
	if raw.SchemaVersion == nil || *raw.SchemaVersion != 2 {
		return nil, invalid("schemaVersion must be 2")
	}
	mt := raw.MediaType
	if ct, _, err := mime.ParseMediaType(contentType); err == nil && ct != "" {
		if mt != "" && mt != ct {
			return nil, invalid("mediaType %q does not match Content-Type %q", mt, ct)
		}
		mt = ct
	}
	if mt == "" {
		switch {
		case raw.Manifests != nil && raw.Config == nil:
			mt = MediaTypeOCIIndex
		case raw.Config != nil:
			mt = MediaTypeOCIManifest
		}
	}
	if !knownManifestType(mt) {
		return nil, invalid("unsupported manifest media type %q", mt)
	}
	p := &parsedManifest{MediaType: mt, ArtifactType: raw.ArtifactType, Annotations: raw.Annotations}
	if raw.Subject != nil {
		if err := checkDescriptor(*raw.Subject); err != nil {
			return nil, invalid("subject: %v", err)
		}
		p.Subject = raw.Subject
	}
	if isIndexType(mt) {
		if raw.Config != nil || raw.Layers != nil {
			return nil, invalid("an index has no config or layers")
		}
		for i, d := range raw.Manifests {
			if err := checkDescriptor(d); err != nil {
				return nil, invalid("manifests[%d]: %v", i, err)
			}
			p.Children = append(p.Children, d)
		}
		return p, nil
	}
	if raw.Manifests != nil {
		return nil, invalid("an image manifest has no manifests list")
	}
	if raw.Config == nil {
		return nil, invalid("image manifest needs a config descriptor")
	}
	if p.ArtifactType == "" && (mt == MediaTypeOCIManifest || mt == MediaTypeDockerManifest) {
		// The artifact's type is its config's (OCI's rule for referrers;
		// management layers show it, as Harbor's media_type, for Docker
		// images too).
		p.ArtifactType = raw.Config.MediaType
	}
	descs := append([]v1.Descriptor{*raw.Config}, raw.Layers...)
	for i, d := range descs {
		where := "config"
		if i > 0 {
			where = fmt.Sprintf("layers[%d]", i-1)
		}
		if err := checkDescriptor(d); err != nil {
			return nil, invalid("%s: %v", where, err)
		}
		if isExternal(d) {
			p.External = append(p.External, d)
		} else {
			p.Blobs = append(p.Blobs, d)
		}
	}
	return p, nil
}

// checkDescriptor validates digest, size and an embedded data field.
func checkDescriptor(d v1.Descriptor) error {
	if _, err := ParseDigest(string(d.Digest)); err != nil {
		return fmt.Errorf("digest %q: %v", truncate(string(d.Digest)), err)
	}
	if d.Size < 0 {
		return fmt.Errorf("negative size %d", d.Size)
	}
	if d.Data != nil {
		if int64(len(d.Data)) != d.Size {
			return fmt.Errorf("data is %d bytes, size says %d", len(d.Data), d.Size)
		}
		if d.Digest.Algorithm().FromBytes(d.Data) != d.Digest {
			return fmt.Errorf("data does not match digest %s", d.Digest)
		}
	}
	return nil
}

// isExternal reports layers the registry need not hold: non-distributable
// layers (served from their URLs) and descriptors carrying their own data.
func isExternal(d v1.Descriptor) bool {
	return strings.Contains(d.MediaType, "nondistributable") ||
		d.MediaType == mediaTypeDockerForeign || len(d.URLs) > 0 || d.Data != nil
}

// annotationsJSON renders annotations for storage ("" when none).
func annotationsJSON(a map[string]string) string {
	if len(a) == 0 {
		return ""
	}
	b, _ := json.Marshal(a)
	return string(b)
}

func descriptorDigests(ds []v1.Descriptor) []digest.Digest {
	out := make([]digest.Digest, len(ds))
	for i, d := range ds {
		out[i] = d.Digest
	}
	return out
}
