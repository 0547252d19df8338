package publish

import (
	"context"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/trust"
)

// attach pushes doc as an OCI 1.1 artifact whose subject is subj: the
// referrers API of subj lists it under artifactType mediaType.
func attach(ctx context.Context, client *trust.Client, repo string, subj v1.Descriptor, doc []byte, mediaType string) (digest.Digest, error) {
	emptyCfg := ocispec.DescriptorEmptyJSON
	if _, err := client.PushBlob(ctx, repo, emptyCfg.Data); err != nil {
		return "", fmt.Errorf("publish: %w", err)
	}
	dd, err := client.PushBlob(ctx, repo, doc)
	if err != nil {
		return "", fmt.Errorf("publish: SBOM: %w", err)
	}
	emptyCfg.Data = nil
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: mediaType, Config: emptyCfg,
		Layers: []ocispec.Descriptor{{MediaType: mediaType, Digest: dd, Size: int64(len(doc)),
			Annotations: map[string]string{ocispec.AnnotationTitle: "sbom.json"}}},
		Subject: &ocispec.Descriptor{MediaType: string(subj.MediaType), Digest: digest.Digest(subj.Digest.String()), Size: subj.Size}}
	m.SchemaVersion = 2
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("publish: %w", err)
	}
	d := digest.FromBytes(b)
	if _, err := client.PushManifest(ctx, repo, d.String(), ocispec.MediaTypeImageManifest, b); err != nil {
		return "", fmt.Errorf("publish: SBOM referrer: %w", err)
	}
	return d, nil
}

// attachPlatforms attaches each architecture's document to its manifest.
func attachPlatforms(ctx context.Context, client *trust.Client, repo string, idx v1.ImageIndex, docs map[string]document) ([]digest.Digest, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	var out []digest.Digest
	for _, m := range im.Manifests {
		if m.Platform == nil {
			continue
		}
		doc, ok := docs[m.Platform.Architecture]
		if !ok {
			continue
		}
		d, err := attach(ctx, client, repo, m, doc.body, doc.mediaType)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	if len(out) != len(docs) {
		return nil, fmt.Errorf("publish: %d platform SBOMs for %d matching platforms in the index", len(docs), len(out))
	}
	return out, nil
}
