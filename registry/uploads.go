package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/storage"
)

func uploadUnknown(id string) error {
	return newError(http.StatusNotFound, CodeBlobUploadUnknown, fmt.Sprintf("upload %s not found", truncate(id)))
}

func uploadInvalid(msg string) error {
	return newError(http.StatusBadRequest, CodeBlobUploadInvalid, msg)
}

// setUploadHeaders writes Location, Range and the session id. Range is
// "0-<last byte>"; an empty session says "0-0", as Distribution does and
// clients expect.
func setUploadHeaders(w http.ResponseWriter, name string, up storage.Upload) {
	h := w.Header()
	h.Set("Location", "/v2/"+name+"/blobs/uploads/"+up.ID())
	end := up.Size() - 1
	if end < 0 {
		end = 0
	}
	h.Set("Range", "0-"+strconv.FormatInt(end, 10))
	h.Set("Docker-Upload-UUID", up.ID())
	h.Set("Content-Length", "0")
}

func (rg *Registry) startUpload(w http.ResponseWriter, r *http.Request, rt route) error {
	q := r.URL.Query()
	ctx := r.Context()
	if mount := q.Get("mount"); mount != "" {
		d, err := ParseDigest(mount)
		if err != nil {
			return digestInvalid(mount, err)
		}
		ok, err := rg.mount(w, r, rt.name, q.Get("from"), d)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		// Not mountable: the client falls back to an upload.
	} else if ds := q.Get("digest"); ds != "" {
		d, err := ParseDigest(ds)
		if err != nil {
			return digestInvalid(ds, err)
		}
		return rg.monolithic(w, r, rt.name, d)
	}
	up, err := rg.blobs.NewUpload(ctx)
	if err != nil {
		return err
	}
	if err := rg.reserve(r, rt.name, up.ID()); err != nil {
		_ = up.Cancel(ctx)
		return err
	}
	setUploadHeaders(w, rt.name, up)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// blobCreated answers 201 for a blob now readable in name.
func blobCreated(w http.ResponseWriter, name string, d digest.Digest) {
	h := w.Header()
	h.Set("Location", "/v2/"+name+"/blobs/"+d.String())
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// monolithic stores a whole blob sent in the POST body with ?digest=.
func (rg *Registry) monolithic(w http.ResponseWriter, r *http.Request, name string, d digest.Digest) error {
	ctx := r.Context()
	up, err := rg.blobs.NewUpload(ctx)
	if err != nil {
		return err
	}
	if _, err := rg.writeChunk(r, r.Body, up); err != nil {
		_ = up.Cancel(ctx)
		return err
	}
	size := up.Size()
	unlockBlob := rg.LockBlob(d)
	defer unlockBlob()
	if err := up.Commit(ctx, d); err != nil {
		return commitError(err, d)
	}
	if err := rg.meta.linkBlob(ctx, name, d, size, rg.now()); err != nil {
		rg.orphaned(ctx, d)
		return err
	}
	blobCreated(w, name, d)
	rg.emit(r, Event{Action: EventPush, Target: TargetBlob, Repository: name, Digest: d, Size: size})
	return nil
}

func commitError(err error, d digest.Digest) error {
	switch {
	case errors.Is(err, storage.ErrDigestMismatch):
		e := newError(http.StatusBadRequest, CodeDigestInvalid, fmt.Sprintf("uploaded content does not match digest %s", d))
		e.Detail = map[string]string{"digest": d.String()}
		return e
	case errors.Is(err, storage.ErrUnsupportedAlgo):
		return digestInvalid(d.String(), err)
	}
	return err
}

// writeChunk appends the request body to the session. With Content-Range,
// the chunk must start at the session's offset (else 416) and the body must
// be exactly that long; a short body is rolled back.
func (rg *Registry) writeChunk(r *http.Request, body io.Reader, up storage.Upload) (int64, error) {
	want := r.ContentLength
	if cr := r.Header.Get("Content-Range"); cr != "" {
		start, end, err := parseContentRange(cr)
		if err != nil {
			return 0, uploadInvalid(err.Error())
		}
		if start != up.Size() {
			return 0, errRangeNotSatisfiable
		}
		n := end - start + 1
		if want >= 0 && want != n {
			return 0, uploadInvalid(fmt.Sprintf("Content-Range covers %d bytes, Content-Length says %d", n, want))
		}
		want = n
	}
	if want == 0 {
		return 0, nil
	}
	if want > 0 {
		body = &exactReader{r: body, left: want}
	}
	n, err := up.Write(r.Context(), body)
	if err != nil {
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			return n, uploadInvalid("request body shorter than its declared length")
		case errors.Is(err, errChunkTooLong):
			return n, uploadInvalid(err.Error())
		case errors.Is(err, storage.ErrUploadUnknown):
			return n, uploadUnknown(up.ID())
		}
		return n, err
	}
	return n, nil
}

// errRangeNotSatisfiable marks an out-of-order chunk.
var errRangeNotSatisfiable = newError(http.StatusRequestedRangeNotSatisfiable, CodeBlobUploadInvalid,
	"chunk does not start at the upload's current offset")

// exactReader yields exactly left bytes of r. It fails with
// io.ErrUnexpectedEOF when r ends early and with errChunkTooLong when r has
// more, so the driver rolls the chunk back either way.
type exactReader struct {
	r    io.Reader
	left int64
}

var errChunkTooLong = errors.New("request body longer than its declared range")

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left == 0 {
		var probe [1]byte
		if n, _ := io.ReadFull(e.r, probe[:]); n > 0 {
			return 0, errChunkTooLong
		}
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err == io.EOF {
		err = nil // the next Read reports the end after probing
	}
	return n, err
}

// session resumes an upload that belongs to name and has not ended,
// holding its lock.
func (rg *Registry) session(r *http.Request, name, id string) (storage.Upload, uploadRow, func(), error) {
	if !storage.ValidUploadID(id) {
		return nil, uploadRow{}, nil, uploadUnknown(id)
	}
	ctx := r.Context()
	row, err := rg.meta.uploadSession(ctx, id)
	if errors.Is(err, errNotFound) || (err == nil && (row.Repo != name || rg.uploadEnded(row))) {
		return nil, uploadRow{}, nil, uploadUnknown(id)
	}
	if err != nil {
		return nil, uploadRow{}, nil, err
	}
	unlock := rg.uploadLocks.lock(id)
	up, err := rg.blobs.ResumeUpload(ctx, id)
	if err != nil {
		unlock()
		if errors.Is(err, storage.ErrUploadUnknown) {
			return nil, uploadRow{}, nil, uploadUnknown(id)
		}
		return nil, uploadRow{}, nil, err
	}
	return up, row, unlock, nil
}

func (rg *Registry) uploadStatus(w http.ResponseWriter, r *http.Request, rt route) error {
	up, _, unlock, err := rg.session(r, rt.name, rt.ref)
	if err != nil {
		return err
	}
	defer unlock()
	setUploadHeaders(w, rt.name, up)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (rg *Registry) patchUpload(w http.ResponseWriter, r *http.Request, rt route) error {
	up, row, unlock, err := rg.session(r, rt.name, rt.ref)
	if err != nil {
		return err
	}
	defer unlock()
	ctx := r.Context()
	n, err := rg.writeChunk(r, rg.activity(r, row), up)
	if err == nil && n > 0 {
		err = rg.touch(ctx, up.ID())
	}
	if errors.Is(err, errSessionEnded) {
		return endSession(ctx, up)
	}
	if err != nil {
		// The session lives on at its old offset: tell the client where.
		setUploadHeaders(w, rt.name, up)
		return err
	}
	setUploadHeaders(w, rt.name, up)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (rg *Registry) putUpload(w http.ResponseWriter, r *http.Request, rt route) error {
	ds := r.URL.Query().Get("digest")
	if ds == "" {
		return newError(http.StatusBadRequest, CodeDigestInvalid, "the digest parameter is required to complete an upload")
	}
	d, err := ParseDigest(ds)
	if err != nil {
		return digestInvalid(ds, err)
	}
	up, row, unlock, err := rg.session(r, rt.name, rt.ref)
	if err != nil {
		return err
	}
	defer unlock()
	ctx := r.Context()
	if _, err := rg.writeChunk(r, rg.activity(r, row), up); errors.Is(err, errSessionEnded) {
		return endSession(ctx, up)
	} else if err != nil {
		// The session lives on at its old offset: tell the client where.
		setUploadHeaders(w, rt.name, up)
		return err
	}
	size := up.Size()
	unlockBlob := rg.LockBlob(d)
	defer unlockBlob()
	if err := up.Commit(ctx, d); err != nil {
		if errors.Is(err, storage.ErrDigestMismatch) {
			_ = rg.meta.deleteUpload(ctx, up.ID())
		}
		return commitError(err, d)
	}
	if err := rg.meta.finishUpload(ctx, up.ID(), rt.name, d, size, rg.now()); err != nil {
		rg.orphaned(ctx, d)
		return err
	}
	blobCreated(w, rt.name, d)
	rg.emit(r, Event{Action: EventPush, Target: TargetBlob, Repository: rt.name, Digest: d, Size: size})
	return nil
}

func (rg *Registry) cancelUpload(w http.ResponseWriter, r *http.Request, rt route) error {
	up, _, unlock, err := rg.session(r, rt.name, rt.ref)
	if err != nil {
		return err
	}
	defer unlock()
	ctx := r.Context()
	if err := up.Cancel(ctx); err != nil && !errors.Is(err, storage.ErrUploadUnknown) {
		return err
	}
	if err := rg.meta.deleteUpload(ctx, up.ID()); err != nil {
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// orphaned queues committed bytes whose link was refused (a quota) or
// failed, for garbage collection to judge.
func (rg *Registry) orphaned(ctx context.Context, d digest.Digest) {
	if err := rg.ReleaseBlob(context.WithoutCancel(ctx), d); err != nil {
		rg.log.Warn("registry: queueing unlinked bytes for garbage collection", "digest", d, "err", err)
	}
}
