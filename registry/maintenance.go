package registry

import (
	"context"
	"errors"
	"time"

	"github.com/berthlabs/berth/storage"
)

// ExpireUploads ends the upload sessions that have been idle for the idle
// timeout or have passed their maximum age (WithUploadTimeouts), and frees
// their storage. Such sessions already neither count against the caps nor
// resume; this reclaims their bytes, and storage sessions that lost their
// binding (a crash between creating and binding one) once older than the
// maximum age. Run it every few minutes. It returns how many sessions it
// ended.
func (rg *Registry) ExpireUploads(ctx context.Context) (int, error) {
	return rg.PurgeUploads(ctx, time.Time{})
}

// PurgeUploads is ExpireUploads that also ends the sessions with no
// activity (their start, or their last acknowledged chunk) since before,
// when that is later than the idle cutoff.
func (rg *Registry) PurgeUploads(ctx context.Context, before time.Time) (int, error) {
	now := rg.now()
	idleBefore := now.Add(-rg.uploadIdle)
	if before.After(idleBefore) {
		idleBefore = before
	}
	startedBefore := now.Add(-rg.uploadMaxAge)
	ids, err := rg.meta.expireUploads(ctx, idleBefore, startedBefore)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, id := range ids {
		errs = append(errs, rg.dropUpload(ctx, id))
	}
	// Any storage session last written before every bound session started
	// is bound to none.
	swept, err := rg.blobs.PurgeUploads(ctx, startedBefore)
	return len(ids) + swept, errors.Join(append(errs, err)...)
}

// dropUpload removes the bytes of a session whose binding is gone. A
// request of this process that holds the session is left alone: it finds
// the binding gone when it next records activity and drops the bytes
// itself, or else the maximum-age sweep does.
func (rg *Registry) dropUpload(ctx context.Context, id string) error {
	unlock, ok := rg.uploadLocks.tryLock(id)
	if !ok {
		return nil
	}
	defer unlock()
	up, err := rg.blobs.ResumeUpload(ctx, id)
	if err == nil {
		err = up.Cancel(ctx)
	}
	if errors.Is(err, storage.ErrUploadUnknown) {
		return nil
	}
	return err
}
