package registry

import (
	"context"
	"errors"
	"net/http"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/storage"
)

// maxMountCandidates bounds the repositories a mount without a source
// considers (and asks the source filter about).
const maxMountCandidates = 64

// WithMountSourceFilter limits a mount that names no source repository to
// blobs of repositories the caller may pull: may is asked, with the
// request's context (what the Authorizer recorded) and the candidate's
// project (its first path component), about repositories holding the blob,
// in name order, at most maxMountCandidates of them. When it allows none,
// the client gets an upload (202) instead, so a digest seen in a
// repository the caller cannot read is not a way to read it. Mounts with
// from= need pull on from from the Authorizer; requests through Transport
// skip the filter as they skip the Authorizer.
func WithMountSourceFilter(may func(ctx context.Context, project, repository string) bool) Option {
	return func(r *Registry) { r.mountSource = may }
}

// mount links a blob into name from another repository (or, without from,
// from anywhere it is stored when anonymous mounts are allowed, within the
// limits of the project scope and the source filter). It reports false
// when the blob is not mountable, so the caller starts an upload.
func (rg *Registry) mount(w http.ResponseWriter, r *http.Request, name, from string, d digest.Digest) (bool, error) {
	ctx := r.Context()
	var size int64
	var err error
	switch {
	case from != "":
		size, err = rg.meta.blobSize(ctx, from, d)
	case !rg.anonymousMount:
		return false, nil
	case rg.projectScopedMount || rg.mountSource != nil:
		size, err = rg.anonymousSource(ctx, name, d)
	default:
		size, err = rg.blobs.Stat(ctx, d)
	}
	if errors.Is(err, errNotFound) || errors.Is(err, storage.ErrBlobUnknown) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	// The bytes are checked and the link made under the digest's lock, so
	// garbage collection cannot remove them in between.
	unlock := rg.LockBlob(d)
	defer unlock()
	if _, err := rg.blobs.Stat(ctx, d); errors.Is(err, storage.ErrBlobUnknown) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if err := rg.meta.linkBlob(ctx, name, d, size, rg.now()); err != nil {
		return false, err
	}
	blobCreated(w, name, d)
	rg.emit(r, Event{Action: EventMount, Target: TargetBlob, Repository: name, Digest: d, Size: size, From: from})
	return true, nil
}

// anonymousSource finds a repository a sourceless mount into name may take
// d from: name itself, or one holding it (of name's project when mounts
// are project-scoped) that the source filter allows. It returns d's size,
// or errNotFound.
func (rg *Registry) anonymousSource(ctx context.Context, name string, d digest.Digest) (int64, error) {
	if size, err := rg.meta.blobSize(ctx, name, d); !errors.Is(err, errNotFound) {
		return size, err
	}
	project := ""
	if rg.projectScopedMount {
		project = projectOf(name)
	}
	holders, err := rg.meta.blobHolders(ctx, project, d, maxMountCandidates)
	if err != nil {
		return 0, err
	}
	for _, h := range holders {
		if rg.mountSource == nil || isInternal(ctx) || rg.mountSource(ctx, projectOf(h.Repo), h.Repo) {
			return h.Size, nil
		}
	}
	return 0, errNotFound
}
