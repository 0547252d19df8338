package server

import (
	"errors"
	"strings"
	"time"
)

// DatabaseConfig chooses where the server's state lives: SQLite in the
// data directory (the default) or a PostgreSQL database that several
// server processes share (scale-out).
type DatabaseConfig struct {
	// URL is a PostgreSQL connection URL or keyword/value string; empty
	// keeps SQLite at <data>/berth.db.
	URL string `yaml:"url" secret:"true" help:"PostgreSQL URL (postgres://user:pass@host:5432/berth) shared by every node of a scale-out installation; empty keeps SQLite in the data directory"`
	// MaxConns bounds this process's connections to PostgreSQL.
	MaxConns int64 `yaml:"max_conns" help:"most PostgreSQL connections this node opens for requests (its job runner opens up to 4 more)"`
	// StatementTimeout cancels statements that run longer; the request
	// answers 503 with Retry-After.
	StatementTimeout time.Duration `yaml:"statement_timeout" help:"PostgreSQL cancels a statement running longer than this (the request answers 503)"`
}

// StorageConfig chooses where blobs live: the data directory (default) or
// an S3-compatible object store.
type StorageConfig struct {
	S3 S3Config `yaml:"s3"`
}

// S3Config is an S3-compatible bucket holding blobs and upload sessions.
type S3Config struct {
	Bucket    string `yaml:"bucket" help:"S3 bucket holding blobs and upload sessions (empty: blobs in the data directory)"`
	Endpoint  string `yaml:"endpoint" help:"URL of an S3-compatible store other than AWS (MinIO, Ceph, versitygw)"`
	Region    string `yaml:"region" help:"region requests are signed for (default us-east-1)"`
	Prefix    string `yaml:"prefix" help:"key prefix inside the bucket"`
	AccessKey string `yaml:"access_key" help:"access key id (empty: the AWS SDK's default chain: environment, shared files, instance role)"`
	SecretKey string `yaml:"secret_key" secret:"true" help:"secret access key of access_key"`
	PathStyle bool   `yaml:"path_style" help:"address the bucket in the URL path, as most stores other than AWS expect"`
	// Redirect answers blob GETs 307 to presigned URLs of the bucket.
	Redirect bool `yaml:"redirect" help:"answer blob pulls with a redirect to a presigned URL of the bucket (20 minutes), so bytes bypass the nodes; clients must reach the store"`
	// CacheDir keeps recently pulled blobs on this node's disk.
	CacheDir      string `yaml:"cache_dir" help:"keep recently pulled blobs in this node-local directory, verified by digest when fetched, least recently used evicted (empty: no cache)"`
	CacheMaxBytes int64  `yaml:"cache_max_bytes" help:"most bytes cache_dir holds; blobs over a quarter of it are not cached"`
}

// shared reports whether other processes may share this server's state:
// its database is PostgreSQL.
func (c *Config) shared() bool { return c.Database.URL != "" }

// validateScaleOut checks the settings a shared database needs.
func (c *Config) validateScaleOut(o options) []error {
	var errs []error
	if c.Database.URL != "" && o.db != nil {
		errs = append(errs, errors.New("database.url and WithDatabase exclude each other"))
	}
	if c.Storage.S3.Bucket != "" && o.blobs != nil {
		errs = append(errs, errors.New("storage.s3 and WithStorage exclude each other"))
	}
	if c.Database.URL != "" && !strings.HasPrefix(c.Database.URL, "postgres://") &&
		!strings.HasPrefix(c.Database.URL, "postgresql://") && !strings.Contains(c.Database.URL, "=") {
		errs = append(errs, errors.New("database.url: not a PostgreSQL URL (postgres://user:pass@host:5432/db)"))
	}
	if s3 := c.Storage.S3; s3.CacheDir != "" && s3.Redirect {
		errs = append(errs, errors.New("storage.s3: redirect and cache_dir exclude each other (redirected pulls never reach the cache)"))
	} else if s3.CacheDir != "" && s3.CacheMaxBytes <= 0 {
		errs = append(errs, errors.New("storage.s3.cache_max_bytes: must be positive with cache_dir"))
	}
	if !c.shared() {
		return errs
	}
	// Every node must unseal what any node sealed (credentials, token
	// keys) and know the admin's password: nothing node-local will do.
	if c.SecretKeyFile == "" {
		errs = append(errs, errors.New("database.url: secret_key_file is required (the same 32-byte key on every node)"))
	}
	if c.Auth && c.AdminPassword == "" {
		errs = append(errs, errors.New("database.url: admin_password is required (no node writes an initial password file for the others)"))
	}
	if c.Storage.S3.Bucket == "" && c.DataDir == "" {
		errs = append(errs, errors.New("database.url: blobs need storage.s3.bucket or a data directory"))
	}
	if c.TLS.SelfSigned {
		errs = append(errs, errors.New("tls.self_signed: each node would make its own CA; give the nodes one certificate (cert_file, key_file)"))
	}
	return errs
}
