package trivy

import (
	"log/slog"
	"net/http"
)

// Option configures a Scanner.
type Option func(*config)

type config struct {
	cacheDir string
	dbDir    string
	repos    []dbRepository
	schedule string
	offline  bool
	logger   *slog.Logger
	parallel int
}

// dbRepository is one place the vulnerability DB can be read from.
type dbRepository struct {
	ref       string
	transport http.RoundTripper // nil: Trivy's own registry client
	insecure  bool
}

// WithCacheDir keeps the layer cache on disk, in Trivy's bolt cache file
// under dir (dir/fanal/fanal.db), so analysed layers survive a restart.
// Without it the cache is in memory. Only one process may open a
// directory's cache at a time.
func WithCacheDir(dir string) Option {
	return func(c *config) { c.cacheDir = dir }
}

// WithDBDir keeps the vulnerability DB (trivy.db and metadata.json) in dir.
// An update downloads next to it and swaps directories, so dir's parent
// must be writable. Without it, New uses a temporary directory that Close
// removes.
func WithDBDir(dir string) Option {
	return func(c *config) { c.dbDir = dir }
}

// WithDBRepository reads the vulnerability DB from the OCI repository
// reference ref (a tag or digest, e.g. "berth.internal/security/trivy-db:2").
// With a non-nil transport every request goes through it — for example
// registry.Transport for a DB stored inside berth, which needs no network
// at all; with a nil transport Trivy's own registry client is used
// (credential helpers, mirrors). insecure means plain HTTP.
//
// Several calls give fallbacks, tried in order. Without any, Trivy's public
// repositories are used (mirror.gcr.io/aquasec/trivy-db:2, then
// ghcr.io/aquasecurity/trivy-db:2).
func WithDBRepository(ref string, transport http.RoundTripper, insecure bool) Option {
	return func(c *config) {
		c.repos = append(c.repos, dbRepository{ref: ref, transport: transport, insecure: insecure})
	}
}

// WithUpdateSchedule updates the vulnerability DB on a cron schedule
// (robfig/cron syntax: "0 */6 * * *", "@every 12h"). Updates download
// while scans run and swap the DB in between scans, never during one.
func WithUpdateSchedule(spec string) Option {
	return func(c *config) { c.schedule = spec }
}

// WithOffline never downloads the vulnerability DB: the DB directory must
// already hold one (air-gapped sites that copy it in by other means).
func WithOffline() Option {
	return func(c *config) { c.offline = true }
}

// WithLogger installs l as the process-wide slog default, which is where
// Trivy writes its logs: Trivy takes no logger of its own. Without this
// option New installs a discarding logger, but only while the default is
// still the buffering handler that Trivy's log package installs when it is
// imported (that handler keeps every record in memory until someone
// replaces it); a default the program set itself is left alone.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithParallel sets how many layers of one image are analysed at once
// (Trivy's default when n is 0).
func WithParallel(n int) Option {
	return func(c *config) { c.parallel = n }
}
