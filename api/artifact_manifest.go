package api

import (
	"encoding/json"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/registry"
)

// ArtifactReference is a manifest an index lists, as Harbor's Reference
// shows it.
type ArtifactReference struct {
	ParentID    int64             `json:"parent_id"`
	ChildID     int64             `json:"child_id" doc:"0 when the child is not stored in the repository"`
	ChildDigest string            `json:"child_digest"`
	Platform    *v1.Platform      `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	URLs        []string          `json:"urls,omitempty"`
}

// maxReferences bounds the children of an index an answer lists.
const maxReferences = 1000

// withManifestParts fills the annotations of an artifact's manifest and,
// for an index, the manifests it lists. Only the single-artifact answer
// has them: a listing would read every manifest.
func (a *API) withManifestParts(c *call, art registry.Artifact, out Artifact) (Artifact, error) {
	body, _, err := a.deps.Registry.ReadManifest(c.ctx(), art.Repository, art.Digest.String())
	if err != nil {
		return out, err
	}
	var m struct {
		Annotations map[string]string `json:"annotations"`
		Manifests   []v1.Descriptor   `json:"manifests"`
	}
	if json.Unmarshal(body, &m) != nil {
		return out, nil // not JSON we know: nothing more to say
	}
	out.Annotations = m.Annotations
	if !isIndex(art.MediaType) {
		return out, nil
	}
	out.References = []ArtifactReference{}
	for _, d := range m.Manifests[:min(len(m.Manifests), maxReferences)] {
		ref := ArtifactReference{ParentID: art.ID, ChildDigest: d.Digest.String(), Platform: d.Platform,
			Annotations: d.Annotations, URLs: d.URLs}
		if child, err := a.deps.Registry.GetArtifact(c.ctx(), art.Repository, d.Digest.String()); err == nil {
			ref.ChildID = child.ID
		}
		out.References = append(out.References, ref)
	}
	return out, nil
}
