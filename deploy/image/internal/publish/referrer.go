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
