package s3

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/storage"
)

// NewUpload stores the state of an empty session. The multipart upload is
// created by the first Write that fills a part, so a small blob (a config,
// a manifest's layer of a few KiB) never has one.
func (d *Driver) NewUpload(ctx context.Context) (storage.Upload, error) {
	h, err := storage.NewHasher(digest.SHA256)
	if err != nil {
		return nil, err
	}
	hs, err := h.MarshalBinary()
	if err != nil {
		return nil, err
	}
	id := storage.NewUploadID()
	now := time.Now().UTC()
	st := state{Algorithm: h.Algorithm(), HashState: hs, StartedAt: now, UpdatedAt: now}
	if err := d.saveState(ctx, id, st); err != nil {
		return nil, err
	}
	return &upload{d: d, id: id, st: st}, nil
}

// ResumeUpload returns a handle on an existing session; it only reads.
func (d *Driver) ResumeUpload(ctx context.Context, id string) (storage.Upload, error) {
	if !storage.ValidUploadID(id) {
		return nil, fmt.Errorf("%w: %q", storage.ErrUploadUnknown, id)
	}
	st, err := d.loadState(ctx, id)
	if err != nil {
		return nil, err
	}
	return &upload{d: d, id: id, st: st}, nil
}

// PurgeUploads removes sessions last written before olderThan, and aborts
// the multipart uploads under the prefix that no session names and that
// were started before it: left by a Write or a copy in parts that failed,
// or by a process that died, before they were recorded or completed. A
// session without a readable state counts from its newest object.
func (d *Driver) PurgeUploads(ctx context.Context, olderThan time.Time) (int, error) {
	sessions, err := d.listSessions(ctx)
	if err != nil {
		return 0, err
	}
	live := map[string]bool{} // multipart upload IDs of the sessions kept
	n := 0
	for id, modified := range sessions {
		last := modified
		st, err := d.loadState(ctx, id)
		switch {
		case err == nil:
			last = st.UpdatedAt
		case errors.Is(err, storage.ErrUploadUnknown), errors.Is(err, errCorruptState):
			// Leftovers of a crash, or a session removed since the listing.
		default:
			// Guessing here could abort the multipart upload of a live session.
			return n, err
		}
		if !last.Before(olderThan) {
			live[st.MultipartID] = true
			continue
		}
		if err := d.removeUpload(ctx, id, st.MultipartID); err != nil {
			return n, err
		}
		n++
	}
	return n, d.abortOrphans(ctx, olderThan, live)
}

// listSessions returns the ID of every session with objects in the bucket
// and the time its newest one was written.
func (d *Driver) listSessions(ctx context.Context) (map[string]time.Time, error) {
	root := d.key("uploads") + "/"
	sessions := map[string]time.Time{}
	err := d.list(ctx, root, func(obj types.Object) error {
		id, _, _ := strings.Cut(strings.TrimPrefix(aws.ToString(obj.Key), root), "/")
		if t := aws.ToTime(obj.LastModified); storage.ValidUploadID(id) && t.After(sessions[id]) {
			sessions[id] = t
		}
		return nil
	})
	return sessions, err
}

// abortOrphans aborts the multipart uploads under the prefix started before
// olderThan that are not in live.
func (d *Driver) abortOrphans(ctx context.Context, olderThan time.Time, live map[string]bool) error {
	input := &s3sdk.ListMultipartUploadsInput{Bucket: &d.bucket}
	if d.prefix != "" {
		input.Prefix = &d.prefix
	}
	pages := s3sdk.NewListMultipartUploadsPaginator(d.client, input)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, mu := range page.Uploads {
			if live[aws.ToString(mu.UploadId)] || !aws.ToTime(mu.Initiated).Before(olderThan) {
				continue
			}
			if err := d.abort(ctx, aws.ToString(mu.Key), aws.ToString(mu.UploadId)); err != nil {
				return err
			}
		}
	}
	return nil
}

// removeUpload aborts the session's multipart upload, if any, and deletes
// its objects, the state last: a removal cut off midway leaves a session
// that PurgeUploads still finds and finishes.
func (d *Driver) removeUpload(ctx context.Context, id, multipartID string) error {
	if multipartID != "" {
		if err := d.abort(ctx, d.uploadKey(id, "data"), multipartID); err != nil {
			return err
		}
	}
	stateKey := d.uploadKey(id, "state")
	err := d.list(ctx, d.uploadKey(id, "")+"/", func(obj types.Object) error {
		if key := aws.ToString(obj.Key); key != stateKey {
			return d.deleteKey(ctx, key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return d.deleteKey(ctx, stateKey)
}

// abort aborts a multipart upload; one already gone (completed or aborted)
// is not an error.
func (d *Driver) abort(ctx context.Context, key, multipartID string) error {
	_, err := d.client.AbortMultipartUpload(ctx, &s3sdk.AbortMultipartUploadInput{Bucket: &d.bucket, Key: &key, UploadId: &multipartID})
	if hasCode(err, "NoSuchUpload") {
		return nil
	}
	return err
}

// abortDetached aborts a multipart upload after a failure, also when ctx
// has ended. It is best effort: one it misses is aborted by PurgeUploads.
func (d *Driver) abortDetached(ctx context.Context, key, multipartID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	_ = d.abort(ctx, key, multipartID)
}

func (d *Driver) deleteKey(ctx context.Context, key string) error {
	_, err := d.client.DeleteObject(ctx, &s3sdk.DeleteObjectInput{Bucket: &d.bucket, Key: &key})
	if isNotFound(err) {
		return nil
	}
	return err
}
