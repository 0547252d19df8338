package registry

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
)

// ReadManifest returns the stored bytes and media type of the manifest ref
// (a tag or a digest) of repo. Like ReadConfig it skips the pull gate:
// callers check read access themselves.
func (rg *Registry) ReadManifest(ctx context.Context, repo, ref string) ([]byte, string, error) {
	mr, err := rg.meta.queryManifest(ctx, repo, ref, true)
	if errors.Is(err, errNotFound) {
		return nil, "", notFound("artifact", repo+":"+ref)
	}
	if err != nil {
		return nil, "", err
	}
	return mr.Content, mr.MediaType, nil
}

// ReadBlob returns the blob d of repo (one linked to it), when it is at
// most limit bytes (ErrTooLarge otherwise). Like ReadConfig it skips the
// pull gate: callers check read access themselves.
func (rg *Registry) ReadBlob(ctx context.Context, repo string, d digest.Digest, limit int64) ([]byte, error) {
	size, err := rg.meta.blobSize(ctx, repo, d)
	if errors.Is(err, errNotFound) {
		return nil, notFound("blob", repo+"@"+d.String())
	}
	if err != nil {
		return nil, err
	}
	if size > limit {
		return nil, fmt.Errorf("blob %s@%s is %d bytes: %w", repo, d, size, ErrTooLarge)
	}
	rc, err := rg.blobs.Open(ctx, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, limit))
}
