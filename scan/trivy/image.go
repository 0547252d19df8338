package trivy

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	v1types "github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/berthlabs/berth/scan"
)

// ErrUnsupportedArtifact is returned for an artifact that is not a
// container image (a Helm chart, a signature, an SBOM, ...). It wraps
// scan.ErrNotScannable.
var ErrUnsupportedArtifact = fmt.Errorf("trivy: not a container image: %w", scan.ErrNotScannable)

// registryImage is Trivy's image interface over a go-containerregistry
// remote image: manifest and config are fetched once, layers stream from
// the registry when Trivy analyses them (only layers missing from the
// layer cache are read), and nothing is copied to disk.
type registryImage struct {
	v1.Image
	ref    name.Digest
	digest string
}

func (i registryImage) Name() string { return i.ref.String() }

func (i registryImage) ID() (string, error) {
	h, err := i.ConfigName()
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

func (i registryImage) RepoTags() []string { return nil }

func (i registryImage) RepoDigests() []string {
	return []string{i.ref.Context().String() + "@" + i.digest}
}

// openImage resolves req's manifest through req.Source. An index resolves
// to its linux/amd64 image, go-containerregistry's default platform.
func openImage(ctx context.Context, req scan.Request) (registryImage, string, error) {
	a, src := req.Artifact, req.Source
	if src.Registry == "" || a.Repository == "" || a.Digest == "" {
		return registryImage{}, "", errors.New("trivy: request needs a registry, a repository and a digest")
	}
	if err := a.Digest.Validate(); err != nil {
		return registryImage{}, "", fmt.Errorf("trivy: %w", err)
	}
	var nopts []name.Option
	if src.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	ref, err := name.NewDigest(src.Registry+"/"+a.Repository+"@"+a.Digest.String(), nopts...)
	if err != nil {
		return registryImage{}, "", fmt.Errorf("trivy: %w", err)
	}
	rt := src.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	desc, err := remote.Get(ref, remote.WithContext(ctx), remote.WithTransport(rt))
	if err != nil {
		return registryImage{}, "", fmt.Errorf("trivy: fetch %s: %w", ref, err)
	}
	if desc.ArtifactType != "" && !v1types.MediaType(desc.ArtifactType).IsConfig() {
		return registryImage{}, "", fmt.Errorf("%w: artifact type %s", ErrUnsupportedArtifact, desc.ArtifactType)
	}
	img, err := desc.Image()
	if err != nil {
		return registryImage{}, "", fmt.Errorf("%w: %s: %w", ErrUnsupportedArtifact, desc.MediaType, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return registryImage{}, "", fmt.Errorf("trivy: manifest of %s: %w", ref, err)
	}
	if !m.Config.MediaType.IsConfig() {
		return registryImage{}, "", fmt.Errorf("%w: config type %s", ErrUnsupportedArtifact, m.Config.MediaType)
	}
	return registryImage{Image: img, ref: ref, digest: a.Digest.String()}, string(desc.MediaType), nil
}
