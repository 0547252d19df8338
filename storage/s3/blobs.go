package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/storage"
)

// Stat returns a committed blob's size.
func (d *Driver) Stat(ctx context.Context, dgst digest.Digest) (int64, error) {
	key, err := d.blobKey(dgst)
	if err != nil {
		return 0, err
	}
	return d.size(ctx, key, dgst)
}

// Open returns a reader of the blob that fetches it with ranged GETs from
// its position, opened on the first Read and again after each Seek. Its
// requests use ctx, so the reader lives no longer than ctx.
func (d *Driver) Open(ctx context.Context, dgst digest.Digest) (io.ReadSeekCloser, error) {
	key, err := d.blobKey(dgst)
	if err != nil {
		return nil, err
	}
	size, err := d.size(ctx, key, dgst)
	if err != nil {
		return nil, err
	}
	return &reader{ctx: ctx, d: d, key: key, size: size}, nil
}

// Delete removes a committed blob. S3 deletes unknown keys silently, so the
// blob is looked up first to report ErrBlobUnknown.
func (d *Driver) Delete(ctx context.Context, dgst digest.Digest) error {
	key, err := d.blobKey(dgst)
	if err != nil {
		return err
	}
	if _, err := d.size(ctx, key, dgst); err != nil {
		return err
	}
	_, err = d.client.DeleteObject(ctx, &s3sdk.DeleteObjectInput{Bucket: &d.bucket, Key: &key})
	return err
}

// Walk lists every committed blob. Keys that are not a valid digest of
// their algorithm and prefix directory are skipped.
func (d *Driver) Walk(ctx context.Context, fn func(dgst digest.Digest, size int64) error) error {
	root := d.key("blobs") + "/"
	return d.list(ctx, root, func(obj types.Object) error {
		dgst, ok := parseBlobKey(strings.TrimPrefix(aws.ToString(obj.Key), root))
		if !ok {
			return nil
		}
		return fn(dgst, aws.ToInt64(obj.Size))
	})
}

// list calls fn for every object whose key starts with prefix, a page of
// keys (up to 1,000) at a time.
func (d *Driver) list(ctx context.Context, prefix string, fn func(obj types.Object) error) error {
	pages := s3sdk.NewListObjectsV2Paginator(d.client, &s3sdk.ListObjectsV2Input{Bucket: &d.bucket, Prefix: &prefix})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, obj := range page.Contents {
			if err := fn(obj); err != nil {
				return err
			}
		}
	}
	return nil
}

// blobKey validates dgst, which comes from clients, before it becomes a key.
func (d *Driver) blobKey(dgst digest.Digest) (string, error) {
	if err := storage.CheckDigest(dgst); err != nil {
		return "", err
	}
	enc := dgst.Encoded()
	return d.key("blobs", string(dgst.Algorithm()), enc[:2], enc), nil
}

// parseBlobKey reads "<alg>/<hex[:2]>/<hex>" back into a digest.
func parseBlobKey(rel string) (digest.Digest, bool) {
	alg, rest, ok := strings.Cut(rel, "/")
	if !ok {
		return "", false
	}
	dir, enc, ok := strings.Cut(rest, "/")
	dgst := digest.NewDigestFromEncoded(digest.Algorithm(alg), enc)
	if !ok || storage.CheckDigest(dgst) != nil || enc[:2] != dir {
		return "", false
	}
	return dgst, true
}

// size returns an object's size, or ErrBlobUnknown.
func (d *Driver) size(ctx context.Context, key string, dgst digest.Digest) (int64, error) {
	out, err := d.client.HeadObject(ctx, &s3sdk.HeadObjectInput{Bucket: &d.bucket, Key: &key})
	if isNotFound(err) {
		return 0, fmt.Errorf("%w: %s", storage.ErrBlobUnknown, dgst)
	} else if err != nil {
		return 0, err
	}
	return aws.ToInt64(out.ContentLength), nil
}

// isNotFound reports a missing key: HEAD answers a bodiless 404 (NotFound),
// GET an error document (NoSuchKey).
func isNotFound(err error) bool { return hasCode(err, "NotFound", "NoSuchKey") }

// hasCode reports whether err is an S3 error with one of codes.
func hasCode(err error, codes ...string) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && slices.Contains(codes, apiErr.ErrorCode())
}
