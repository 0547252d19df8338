package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/core"
)

// Blob streams a blob repo lacks from its upstream while storing it.
// Concurrent pulls of one blob of one repository share one download: each
// reads the spool as it grows, and the blob is stored once, when complete
// and verified. A client that hangs up does not cut the download short
// for the others or for the cache.
func (c *Cache) Blob(ctx context.Context, repo string, d digest.Digest) (io.ReadCloser, int64, error) {
	t, ok, err := c.resolve(ctx, repo)
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		return nil, 0, fmt.Errorf("blob %s in %s: %w", d, repo, core.ErrNotFound)
	}
	fetch := func(ctx context.Context) (io.ReadCloser, int64, error) {
		return t.client.Blob(ctx, t.upRepo, d)
	}
	commit := func(ctx context.Context, spool *os.File, size int64) error {
		return c.storeBlob(ctx, t.repo, d, spool, size)
	}
	r, err := c.fills.Open(ctx, t.repo+"@"+d.String(), fetch, commit)
	if err != nil {
		c.stats.upstreamErrors.Add(1)
		return nil, 0, answer(err, "BLOB_UNKNOWN")
	}
	return r, r.Size(), nil
}

// referrerDigests reads the digests an image index lists.
func referrerDigests(index []byte) ([]digest.Digest, error) {
	var idx struct {
		Manifests []struct {
			Digest digest.Digest `json:"digest"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(index, &idx); err != nil {
		return nil, fmt.Errorf("proxy: reading a referrers index: %w", err)
	}
	out := make([]digest.Digest, 0, len(idx.Manifests))
	for _, m := range idx.Manifests {
		if m.Digest.Validate() == nil {
			out = append(out, m.Digest)
		}
	}
	return out, nil
}
