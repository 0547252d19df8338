package s3

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/storage"
)

// Commit verifies the session's bytes against dgst and publishes them at
// the blob key, then removes the session. A mismatch removes the session
// and publishes nothing.
//
// A session without parts (under one part size) is read back, hashed and
// PUT at the blob key. A larger one is checked against its hash state,
// completed into its data key and copied server-side; a commit with
// another algorithm than the session's rereads the completed object once.
func (u *upload) Commit(ctx context.Context, dgst digest.Digest) error {
	blob, err := u.d.blobKey(dgst)
	if err != nil {
		return err // a malformed digest is the client's error: keep the session
	}
	st, err := u.d.loadState(ctx, u.id)
	if err != nil {
		return err
	}
	if dgst.Algorithm() == st.Algorithm {
		h, err := st.hasher()
		if err != nil {
			return err
		}
		if actual := h.Digest(); actual != dgst {
			return u.mismatch(ctx, st, dgst, actual)
		}
	}
	if len(st.Parts) == 0 {
		err = u.commitTail(ctx, st, dgst, blob)
	} else {
		err = u.commitParts(ctx, st, dgst, blob)
	}
	if err != nil {
		return err
	}
	return u.d.removeUpload(ctx, u.id, "")
}

// commitTail publishes a session whose bytes are all in its tail. They fit
// in memory, so they are hashed again as read: what is published is what
// was verified, whatever the algorithm.
func (u *upload) commitTail(ctx context.Context, st state, dgst digest.Digest, blob string) error {
	bufp := u.d.buffer()
	defer u.d.bufs.Put(bufp)
	content, err := u.d.readTail(ctx, u.id, st, (*bufp)[:0])
	if err != nil {
		return err
	}
	if actual := dgst.Algorithm().FromBytes(content); actual != dgst {
		return u.mismatch(ctx, st, dgst, actual)
	}
	if exists, err := u.d.exists(ctx, blob); err != nil || exists {
		return err
	}
	return u.d.put(ctx, blob, content)
}

// commitParts completes the multipart upload, with the tail as its last
// part, into the data key, verifies it if the hash state could not, and
// copies it to the blob key.
func (u *upload) commitParts(ctx context.Context, st state, dgst digest.Digest, blob string) error {
	data := u.d.uploadKey(u.id, "data")
	// A commit cut off after completing left the data object: a retry
	// takes it from there, since the multipart upload is gone.
	done, err := u.d.exists(ctx, data)
	if err != nil {
		return err
	}
	if !done {
		if err := u.complete(ctx, st, data); err != nil {
			return err
		}
	}
	if dgst.Algorithm() != st.Algorithm {
		actual, err := u.d.digestOf(ctx, data, dgst.Algorithm())
		if err != nil {
			return err
		}
		if actual != dgst {
			return u.mismatch(ctx, st, dgst, actual)
		}
	}
	if exists, err := u.d.exists(ctx, blob); err != nil || exists {
		return err
	}
	return u.d.copy(ctx, data, blob, st.Offset)
}

// complete uploads the tail as the last part and completes the multipart
// upload with exactly the parts the state names.
func (u *upload) complete(ctx context.Context, st state, data string) error {
	if st.Tail > 0 {
		bufp := u.d.buffer()
		defer u.d.bufs.Put(bufp)
		tail, err := u.d.readTail(ctx, u.id, st, (*bufp)[:0])
		if err != nil {
			return err
		}
		if err := u.d.uploadPart(ctx, u.id, &st, tail); err != nil {
			return err
		}
	}
	parts := make([]types.CompletedPart, len(st.Parts))
	for i, p := range st.Parts {
		parts[i] = types.CompletedPart{ETag: aws.String(p.ETag), PartNumber: aws.Int32(p.Number)}
	}
	_, err := u.d.client.CompleteMultipartUpload(ctx, &s3sdk.CompleteMultipartUploadInput{
		Bucket:          &u.d.bucket,
		Key:             &data,
		UploadId:        &st.MultipartID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	return err
}

// mismatch removes the session and reports both digests.
func (u *upload) mismatch(ctx context.Context, st state, want, got digest.Digest) error {
	if err := u.d.removeUpload(ctx, u.id, st.MultipartID); err != nil {
		return err
	}
	return fmt.Errorf("%w: expected %s, got %s", storage.ErrDigestMismatch, want, got)
}

// digestOf streams an object through a hash of alg.
func (d *Driver) digestOf(ctx context.Context, key string, alg digest.Algorithm) (digest.Digest, error) {
	h, err := storage.NewHasher(alg)
	if err != nil {
		return "", err
	}
	out, err := d.client.GetObject(ctx, &s3sdk.GetObjectInput{Bucket: &d.bucket, Key: &key})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	if _, err := io.Copy(h, out.Body); err != nil {
		return "", err
	}
	return h.Digest(), nil
}

// exists reports whether an object is there.
func (d *Driver) exists(ctx context.Context, key string) (bool, error) {
	_, err := d.client.HeadObject(ctx, &s3sdk.HeadObjectInput{Bucket: &d.bucket, Key: &key})
	if isNotFound(err) {
		return false, nil
	}
	return err == nil, err
}
