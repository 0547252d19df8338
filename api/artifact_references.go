package api

import (
	"encoding/json"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/registry"
)

// maxIndexManifest bounds the index read for its references.
const maxIndexManifest = 4 << 20

// withReferences adds an index's references (its platforms), read from
// the stored index; an unreadable one leaves the artifact as it is, so
// one odd index does not fail a listing.
func (a *API) withReferences(c *call, art registry.Artifact, out Artifact) Artifact {
	if !isIndex(art.MediaType) {
		return out
	}
	b, _, err := a.deps.Registry.ReadManifest(c.ctx(), art.Repository, art.Digest.String())
	if err != nil || len(b) > maxIndexManifest {
		a.cfg.log.DebugContext(c.ctx(), "index references", "artifact", art.Repository+"@"+art.Digest.String(), "err", err)
		return out
	}
	var idx v1.Index
	if json.Unmarshal(b, &idx) != nil {
		return out
	}
	for _, m := range idx.Manifests {
		out.References = append(out.References, ArtifactReference{ParentID: art.ID, ChildDigest: m.Digest.String(),
			Platform: m.Platform, Annotations: m.Annotations, URLs: m.URLs})
	}
	return out
}
