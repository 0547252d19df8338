package registry

import (
	"context"
	"errors"
	"net/http"
)

// Resolve finds the manifest that reference (a tag or a digest) names in
// repo and describes it as a PullGate is asked about it, without serving
// it, asking the gate or counting a pull: a policy check ahead of a pull
// (a Kubernetes admission webhook) asks the gate itself. It reads only
// what the registry holds; a pull-through cache's Upstream is not
// consulted. An unknown repository, tag or digest is ErrNotFound; a
// malformed name or reference is an *Error with status 400.
func (rg *Registry) Resolve(ctx context.Context, repo, reference string) (Target, error) {
	if !ValidName(repo) {
		return Target{}, newError(http.StatusBadRequest, CodeNameInvalid, "invalid repository name "+truncate(repo))
	}
	if _, _, err := parseReference(reference); err != nil {
		return Target{}, err
	}
	mr, err := rg.meta.manifest(ctx, repo, reference, true)
	if errors.Is(err, errNotFound) {
		return Target{}, notFound("manifest", repo+referenceSeparator(reference)+reference)
	}
	if err != nil {
		return Target{}, err
	}
	return Target{Repository: repo, Reference: reference, Digest: mr.Digest, MediaType: mr.MediaType,
		ArtifactType: mr.ArtifactType, Size: mr.Size, Subject: mr.Subject, Manifest: mr.Content}, nil
}

// referenceSeparator joins a repository and a reference as clients write
// them: repo:tag, repo@digest.
func referenceSeparator(reference string) string {
	if containsColon(reference) {
		return "@"
	}
	return ":"
}
