// Package s3 is a storage.Driver over an S3-compatible object store (AWS S3,
// MinIO, Ceph RGW, versitygw, …), so that several berth processes can share
// one blob store.
//
//	d, err := s3.New(ctx, "registry-blobs",
//		s3.WithEndpoint("https://s3.example.com"), // omit for AWS
//		s3.WithRegion("eu-west-1"),
//		s3.WithCredentials(accessKey, secretKey),
//		s3.WithPrefix("berth/"),
//		s3.WithPathStyle(),                       // MinIO, versitygw, most non-AWS stores
//	)
//	up, err := d.NewUpload(ctx)
//	_, err = up.Write(ctx, chunk)   // durable in the bucket when it returns
//	err = up.Commit(ctx, dgst)      // verify, then publish atomically
//	rc, err := d.Open(ctx, dgst)    // ranged GETs, opened lazily, Seek-able
//
// To take credentials and region from the environment, the shared files or
// an instance role, load an aws.Config with aws-sdk-go-v2/config and pass it
// with WithConfig.
//
// Layout, under the prefix:
//
//	blobs/<alg>/<hex[:2]>/<hex>       committed blobs, only ever with verified content
//	uploads/<id>/state                JSON: offset, hash state, multipart upload and its parts
//	uploads/<id>/tail-<offset>        bytes not yet part-sized, the newest ones
//	uploads/<id>/data                 the multipart upload's key, completed at Commit
//
// Upload sessions keep all their state in the bucket, which keeps the
// driver free of a SQL dependency: any process with access to the bucket
// can resume a session, also after a restart. S3 parts must be at least 5 MiB (except the last), so a
// Write cuts what it receives into parts of the part size and stores the
// remainder as the session's tail object; the next Write folds the tail
// into its first part. A Write uploads its parts and its tail, then
// replaces the state object: the state names exactly the acknowledged
// bytes, and anything a failed Write left behind (parts past the state's,
// a tail it does not name) is overwritten or removed later. A Write costs
// a handful of requests (state and tail read; parts, tail and state
// written), paid once per blob by clients that push a blob in one request,
// as docker and containerd do.
//
// Commit verifies before anything is published, so a blob key never holds
// content other than its digest's. A session smaller than a part is all
// tail: it is read back, hashed and PUT at the blob key. A larger one is
// checked against its hash state, its multipart upload completed into the
// data key (and reread once if the digest is not sha256, the algorithm
// sessions hash with) and copied to the blob key server-side; blobs over
// 5 GiB, CopyObject's limit, are copied in parts with UploadPartCopy. A
// multipart upload has at most 10,000 parts, so the largest blob is 10,000
// times the part size: about 97 GiB with the default 10 MiB (WithPartSize).
package s3

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/berthlabs/berth/storage"
)

const (
	minPartSize     = 5 << 20  // S3's smallest part but the last
	defaultPartSize = 10 << 20 // as CNCF Distribution's S3 driver
	maxCopySize     = 5 << 30  // CopyObject's limit: larger objects are copied in parts
)

// Driver stores blobs and upload sessions in one bucket, under a prefix.
// It is safe for concurrent use, also by several processes sharing the
// bucket and prefix.
type Driver struct {
	client   *s3sdk.Client
	bucket   string
	prefix   string // "" or ending in "/"
	partSize int64
	copySize int64     // objects larger than this are copied in parts of this size
	bufs     sync.Pool // *[]byte of partSize: a Write's part being filled
}

var _ storage.Driver = (*Driver)(nil)

type config struct {
	aws      aws.Config
	clientFn []func(*s3sdk.Options)
	prefix   string
	partSize int64
	copySize int64
}

// Option configures a Driver.
type Option func(*config)

// WithConfig starts from an aws.Config, such as config.LoadDefaultConfig's
// (region, credentials chain, HTTP client, retries). Other options apply
// on top of it.
func WithConfig(cfg aws.Config) Option { return func(c *config) { c.aws = cfg } }

// WithEndpoint sets the store's URL, for stores other than AWS S3.
func WithEndpoint(url string) Option {
	return WithClientOptions(func(o *s3sdk.Options) { o.BaseEndpoint = aws.String(url) })
}

// WithRegion sets the region requests are signed for.
func WithRegion(region string) Option {
	return WithClientOptions(func(o *s3sdk.Options) { o.Region = region })
}

// WithCredentials signs requests with a static access key and secret.
func WithCredentials(accessKey, secretKey string) Option {
	creds := aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey, Source: "berth s3.WithCredentials"}
	return WithClientOptions(func(o *s3sdk.Options) {
		o.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })
	})
}

// WithPathStyle addresses the bucket in the URL path (host/bucket/key)
// rather than as a host name, as MinIO, versitygw and most stores other
// than AWS expect.
func WithPathStyle() Option {
	return WithClientOptions(func(o *s3sdk.Options) { o.UsePathStyle = true })
}

// WithClientOptions adjusts the S3 client's options directly, after every
// other option: the way to anything the options here do not cover.
func WithClientOptions(fn func(*s3sdk.Options)) Option {
	return func(c *config) { c.clientFn = append(c.clientFn, fn) }
}

// WithPrefix keeps every key under prefix, so one bucket can hold several
// stores or other data. A "/" is added when missing.
func WithPrefix(prefix string) Option { return func(c *config) { c.prefix = prefix } }

// WithPartSize sets the size of the multipart upload's parts (at least
// 5 MiB; 10 MiB by default). Each Write in flight holds one part in memory,
// and a blob has at most 10,000 parts.
func WithPartSize(n int64) Option { return func(c *config) { c.partSize = n } }

// New returns a driver over bucket, checking first that the bucket answers.
func New(ctx context.Context, bucket string, opts ...Option) (*Driver, error) {
	c := config{partSize: defaultPartSize, copySize: maxCopySize}
	for _, opt := range opts {
		opt(&c)
	}
	if c.aws.Region == "" {
		c.aws.Region = "us-east-1" // signing needs one; WithRegion overrides it
	}
	if bucket == "" {
		return nil, errors.New("s3: no bucket")
	}
	if c.partSize < minPartSize {
		return nil, fmt.Errorf("s3: part size %d is below S3's minimum of %d", c.partSize, minPartSize)
	}
	if c.copySize < minPartSize || c.copySize > maxCopySize {
		return nil, fmt.Errorf("s3: copy part size %d out of range", c.copySize)
	}
	prefix := strings.TrimLeft(c.prefix, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	d := &Driver{
		client:   s3sdk.NewFromConfig(c.aws, c.clientFn...),
		bucket:   bucket,
		prefix:   prefix,
		partSize: c.partSize,
		copySize: c.copySize,
	}
	if _, err := d.client.HeadBucket(ctx, &s3sdk.HeadBucketInput{Bucket: &d.bucket}); err != nil {
		return nil, fmt.Errorf("s3: bucket %s: %w", bucket, err)
	}
	return d, nil
}

// key is the full object key of a path below the prefix.
func (d *Driver) key(elem ...string) string { return d.prefix + path.Join(elem...) }
