package scan

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/sqldb"
)

// maxIndexChildren bounds the platform manifests of one index scanned.
const maxIndexChildren = 256

// IsIndex reports whether a manifest media type is an image index (OCI or
// Docker manifest list).
func IsIndex(mediaType string) bool {
	return mediaType == v1.MediaTypeImageIndex || mediaType == "application/vnd.docker.distribution.manifest.list.v2+json"
}

// ScanImages queues a scan of an image, or of every image manifest of an
// index (Harbor scans an index's children), and returns the tasks.
func (s *Service) ScanImages(ctx context.Context, a Artifact, trigger Trigger) ([]Task, error) {
	arts := []Artifact{a}
	if IsIndex(a.MediaType) {
		var err error
		if arts, err = s.children(ctx, a); err != nil {
			return nil, err
		}
	}
	var out []Task
	for _, c := range arts {
		t, err := s.ScanArtifact(ctx, c, trigger)
		if err != nil {
			return out, err
		}
		out = append(out, t)
	}
	return out, nil
}

// children lists the scannable manifests of an index.
func (s *Service) children(ctx context.Context, a Artifact) ([]Artifact, error) {
	if s.transport == nil {
		return nil, fmt.Errorf("scan: no registry transport to read the index with: %w", ErrUnsupported)
	}
	src := s.ownSource()
	repo, err := repoRef(src, a.Repository)
	if err != nil {
		return nil, err
	}
	idx, err := remote.Index(repo.Digest(a.Digest.String()), remoteOpts(ctx, src)...)
	if err != nil {
		return nil, fmt.Errorf("scan: reading index %s@%s: %w", a.Repository, a.Digest, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var out []Artifact
	for _, m := range im.Manifests {
		if !Scannable(string(m.MediaType), m.ArtifactType) {
			continue
		}
		if len(out) == maxIndexChildren {
			return nil, fmt.Errorf("%w: index %s@%s has more than %d image manifests", ErrInvalid, a.Repository, a.Digest, maxIndexChildren)
		}
		out = append(out, Artifact{Repository: a.Repository, Digest: digestOf(m.Digest.String()), MediaType: string(m.MediaType)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("scan: index %s@%s holds no image manifest: %w", a.Repository, a.Digest, ErrNotScannable)
	}
	return out, nil
}

// ForgetProject removes, inside tx (the transaction deleting the
// project), what the service keeps for the project with projectID: its
// allowlist and scanner choice. Reports stay: they are keyed by digest.
// Settings are keyed by the id, so a later project of the same name
// starts clean even without this; it frees the rows.
func (s *Service) ForgetProject(ctx context.Context, tx *sqldb.Tx, projectID int64) error {
	if projectID <= 0 {
		return fmt.Errorf("%w: ForgetProject needs a project id", ErrInvalid)
	}
	err := forgetProject(ctx, tx, projectID)
	s.policies.invalidate(policyKey(projectID))
	return err
}

// IndexChildren lists the image manifests of an index, as ScanImages
// scans them: for showing an index's overview as the sum of its images'.
func (s *Service) IndexChildren(ctx context.Context, a Artifact) ([]Artifact, error) {
	if !IsIndex(a.MediaType) {
		return nil, fmt.Errorf("%w: %s@%s is not an index", ErrInvalid, a.Repository, a.Digest)
	}
	return s.children(ctx, a)
}
