package s3

import (
	"context"

	"github.com/berthlabs/berth/storage"
)

// WithCopyPartSize lowers the size above which Commit copies a blob in
// parts (5 GiB otherwise), so tests exercise UploadPartCopy with small blobs.
func WithCopyPartSize(n int64) Option { return func(c *config) { c.copySize = n } }

// CompleteMultipart does what a Commit cut off after completing the multipart
// upload had done, so a test can retry the Commit from there.
func CompleteMultipart(ctx context.Context, up storage.Upload) error {
	u := up.(*upload)
	st, err := u.d.loadState(ctx, u.id)
	if err != nil {
		return err
	}
	return u.complete(ctx, st, u.d.uploadKey(u.id, "data"))
}
