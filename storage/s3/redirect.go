package s3

import (
	"context"
	"time"

	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/opencontainers/go-digest"
)

// redirectExpiry is how long a presigned URL stays valid: long enough for
// a client to start a large layer's download after the redirect, short
// enough that a leaked URL soon stops working.
const redirectExpiry = 20 * time.Minute

// RedirectURL returns a presigned GET URL of a committed blob, valid for
// 20 minutes (storage.Redirector): a registry answering a pull with a
// redirect to it sends the bytes from the object store straight to the
// client. The blob is looked up first, so an unknown blob is
// storage.ErrBlobUnknown rather than a URL that answers 404.
func (d *Driver) RedirectURL(ctx context.Context, dgst digest.Digest) (string, error) {
	key, err := d.blobKey(dgst)
	if err != nil {
		return "", err
	}
	if _, err := d.size(ctx, key, dgst); err != nil {
		return "", err
	}
	req, err := s3sdk.NewPresignClient(d.client).PresignGetObject(ctx,
		&s3sdk.GetObjectInput{Bucket: &d.bucket, Key: &key}, s3sdk.WithPresignExpires(redirectExpiry))
	if err != nil {
		return "", err
	}
	return req.URL, nil
}
