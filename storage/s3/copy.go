package s3

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// copy copies an object of size bytes server-side. The destination appears
// whole or not at all: CopyObject is atomic, and a copy in parts shows
// nothing until its multipart upload completes.
func (d *Driver) copy(ctx context.Context, src, dst string, size int64) error {
	source := d.copySource(src)
	if size <= d.copySize {
		_, err := d.client.CopyObject(ctx, &s3sdk.CopyObjectInput{Bucket: &d.bucket, Key: &dst, CopySource: &source})
		return err
	}
	out, err := d.client.CreateMultipartUpload(ctx, &s3sdk.CreateMultipartUploadInput{Bucket: &d.bucket, Key: &dst})
	if err != nil {
		return err
	}
	id := aws.ToString(out.UploadId)
	if err := d.copyParts(ctx, source, dst, id, size); err != nil {
		d.abortDetached(ctx, dst, id)
		return err
	}
	return nil
}

// copyParts fills the multipart upload id at dst with UploadPartCopy, in
// ranges of copySize, and completes it.
func (d *Driver) copyParts(ctx context.Context, source, dst, id string, size int64) error {
	var parts []types.CompletedPart
	for num, off := int32(1), int64(0); off < size; num, off = num+1, off+d.copySize {
		rng := fmt.Sprintf("bytes=%d-%d", off, min(off+d.copySize, size)-1)
		out, err := d.client.UploadPartCopy(ctx, &s3sdk.UploadPartCopyInput{
			Bucket:          &d.bucket,
			Key:             &dst,
			UploadId:        &id,
			PartNumber:      aws.Int32(num),
			CopySource:      &source,
			CopySourceRange: &rng,
		})
		if err != nil {
			return err
		}
		parts = append(parts, types.CompletedPart{ETag: out.CopyPartResult.ETag, PartNumber: aws.Int32(num)})
	}
	_, err := d.client.CompleteMultipartUpload(ctx, &s3sdk.CompleteMultipartUploadInput{
		Bucket:          &d.bucket,
		Key:             &dst,
		UploadId:        &id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	return err
}

// copySource is the x-amz-copy-source of a key in the bucket: URL-encoded,
// with its slashes kept.
func (d *Driver) copySource(key string) string {
	segs := strings.Split(d.bucket+"/"+key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
