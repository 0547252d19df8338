package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/storage"
)

func blobUnknown(repo string, d digest.Digest) error {
	e := newError(http.StatusNotFound, CodeBlobUnknown, fmt.Sprintf("blob %s not found in %s", d, repo))
	e.Detail = map[string]string{"digest": d.String()}
	return e
}

func digestInvalid(what string, err error) error {
	return newError(http.StatusBadRequest, CodeDigestInvalid, fmt.Sprintf("invalid digest %q: %v", truncate(what), err))
}

// getBlob serves GET and HEAD of a blob, with Range support. The content is
// handed to http.ServeContent, which uses sendfile for files on disk.
func (rg *Registry) getBlob(w http.ResponseWriter, r *http.Request, rt route) error {
	d, err := ParseDigest(rt.ref)
	if err != nil {
		return digestInvalid(rt.ref, err)
	}
	ctx := r.Context()
	var content io.ReadSeeker
	size, err := rg.meta.blobSize(ctx, rt.name, d)
	switch {
	case err == nil && rg.redirector != nil && r.Method == http.MethodGet:
		return rg.redirectBlob(w, r, rt.name, d, size)
	case err == nil:
		rc, oerr := rg.blobs.Open(ctx, d)
		if errors.Is(oerr, storage.ErrBlobUnknown) {
			if rg.consultUpstream(r) { // linked, but its file is gone: fill it again
				return rg.blobFromUpstream(w, r, rt.name, d)
			}
			return blobUnknown(rt.name, d)
		}
		if oerr != nil {
			return oerr
		}
		defer rc.Close()
		content = rc
	case errors.Is(err, errNotFound):
		// A manifest is content too: clients may fetch it as a blob.
		mr, merr := rg.meta.manifest(ctx, rt.name, d.String(), true)
		if errors.Is(merr, errNotFound) {
			if rg.consultUpstream(r) {
				return rg.blobFromUpstream(w, r, rt.name, d)
			}
			return blobUnknown(rt.name, d)
		}
		if merr != nil {
			return merr
		}
		if r.Method == http.MethodHead {
			// Existence is not content: like manifest HEADs, ungated.
		} else if err := rg.checkPull(r, Target{Repository: rt.name, Reference: rt.ref, Digest: mr.Digest, MediaType: mr.MediaType,
			ArtifactType: mr.ArtifactType, Size: mr.Size, Subject: mr.Subject, Manifest: mr.Content}); err != nil {
			return err
		}
		size, content = mr.Size, bytes.NewReader(mr.Content)
	default:
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Etag", `"`+d.String()+`"`)
	h.Set("Cache-Control", "max-age=31536000, immutable")
	http.ServeContent(w, r, "", time.Time{}, content)
	if r.Method == http.MethodGet {
		rg.emit(r, Event{Action: EventPull, Target: TargetBlob, Repository: rt.name, Digest: d, Size: size})
	}
	return nil
}

// redirectBlob sends the client to the store for a linked blob's bytes.
func (rg *Registry) redirectBlob(w http.ResponseWriter, r *http.Request, name string, d digest.Digest, size int64) error {
	u, err := rg.redirector.RedirectURL(r.Context(), d)
	if errors.Is(err, storage.ErrBlobUnknown) {
		if rg.consultUpstream(r) { // linked, but its bytes are gone: fill it again
			return rg.blobFromUpstream(w, r, name, d)
		}
		return blobUnknown(name, d)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Docker-Content-Digest", d.String())
	http.Redirect(w, r, u, http.StatusTemporaryRedirect)
	rg.emit(r, Event{Action: EventPull, Target: TargetBlob, Repository: name, Digest: d, Size: size})
	return nil
}

// deleteBlob unlinks a blob from the repository; the bytes stay for other
// repositories and are reclaimed by garbage collection.
func (rg *Registry) deleteBlob(w http.ResponseWriter, r *http.Request, rt route) error {
	d, err := ParseDigest(rt.ref)
	if err != nil {
		return digestInvalid(rt.ref, err)
	}
	if err := rg.meta.unlinkBlob(r.Context(), rt.name, d); errors.Is(err, errNotFound) {
		return blobUnknown(rt.name, d)
	} else if err != nil {
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	rg.emit(r, Event{Action: EventDelete, Target: TargetBlob, Repository: rt.name, Digest: d})
	return nil
}
