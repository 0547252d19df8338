package server

import (
	"time"

	"github.com/berthlabs/berth/auth/session"
	"github.com/berthlabs/berth/registry"
)

// Config is everything the server reads at start, as plain data. Each field
// has a key in the configuration file (its yaml tag, sections nested), an
// environment variable (BERTH_ and the key upper-cased, dots as
// underscores: BERTH_TLS_CERT_FILE) and a command-line flag (the key with
// dots and underscores as dashes; a section's "enabled" is the section's
// name: -replication=false). DefaultConfig fills the defaults; see
// LoadConfig for how file, environment and flags combine.
type Config struct {
	// Addr is the listen address.
	Addr string `yaml:"addr" help:"listen address"`
	// DataDir holds the SQLite database, the blobs and the keys. Empty
	// only for an embedder who passes WithStorage and WithDatabase (then
	// keys live in memory and AdminPassword is required), or with both
	// Database.URL and Storage.S3 set.
	DataDir string `yaml:"data" help:"data directory (blobs, the SQLite database, keys; with database.url and storage.s3 only node-local scratch, may be empty)"`
	// LogLevel is debug, info, warn or error (for the logger Main makes;
	// an embedder passes its own with WithLogger).
	LogLevel string `yaml:"log_level" help:"debug, info, warn or error"`
	// ExternalURL is where clients reach the server, for token challenges
	// and links; default http(s)://Addr.
	ExternalURL string `yaml:"external_url" help:"URL clients reach this server at (default http(s)://<addr>)"`
	// Auth requires authentication and RBAC; off, anyone may do anything.
	Auth bool `yaml:"auth" help:"require authentication and RBAC (users, robots, projects, token service); off serves everyone"`
	// AdminPassword is the first system admin's password, used once when
	// no admin exists; empty generates one into <data>/initial-admin-password.
	AdminPassword string `yaml:"admin_password" secret:"true" help:"password of the first system admin, used when none exists (default: generated into <data>/initial-admin-password)"`
	// LibraryProject creates a public project "library" at first start, as
	// Harbor does, so a first push needs no API call.
	LibraryProject bool `yaml:"library_project" help:"create a public project \"library\" at first start"`
	// DefaultStorageLimit is the storage quota of new projects, in bytes.
	DefaultStorageLimit int64 `yaml:"default_storage_limit" help:"storage quota of projects created without one, in bytes; -1 for none (system admins change a project's)"`

	SparseManifests  bool          `yaml:"sparse_manifests" help:"accept manifests whose layers or child manifests are not pushed (mirrors)"`
	MaxManifestBytes int64         `yaml:"max_manifest_bytes" help:"largest manifest accepted, in bytes"`
	UploadMaxAge     time.Duration `yaml:"upload_max_age" help:"upload sessions idle this long are purged, hourly (sessions end on their own after an hour idle or a day old; this can only shorten the idle time)"`

	// DebugAddr serves Go's pprof profiles (keep it private).
	DebugAddr string `yaml:"debug_addr" help:"serve Go's pprof profiles on this address (keep it private)"`
	// MetricsAddr serves /metrics unauthenticated on its own listener;
	// empty serves it on Addr for system admins only.
	MetricsAddr string `yaml:"metrics_addr" help:"serve Prometheus /metrics here, unauthenticated (keep it private), instead of on addr for system admins only"`
	// AllowedOrigins may send browser requests that change state, besides
	// the server's own origin.
	AllowedOrigins []string `yaml:"allowed_origins" help:"origins (scheme://host[:port]) whose browser pages may change state through the API, besides the server's own"`
	// TrustedProxies are addresses or CIDR prefixes of reverse proxies
	// whose X-Forwarded-For names the client.
	TrustedProxies []string `yaml:"trusted_proxies" help:"addresses or CIDR prefixes of reverse proxies whose X-Forwarded-For names the client"`
	// LoginThrottle answers 429 to addresses and names with many recent
	// failed logins.
	LoginThrottle bool `yaml:"login_throttle" help:"answer 429 to clients and user names with many recent failed logins (doubling delays, never a lockout)"`
	// SecretKeyFile holds the 32-byte key sealing stored credentials;
	// default <data>/secret.key, created if missing.
	SecretKeyFile string `yaml:"secret_key_file" help:"32-byte key file sealing stored credentials (default <data>/secret.key, created if missing); servers sharing one database need the same file, and then share their token signing keys"`

	Database    DatabaseConfig    `yaml:"database"`
	Storage     StorageConfig     `yaml:"storage"`
	TLS         TLSConfig         `yaml:"tls"`
	LDAP        LDAPConfig        `yaml:"ldap"`
	Scan        ScanConfig        `yaml:"scan"`
	Trivy       TrivyConfig       `yaml:"trivy"`
	Trust       TrustConfig       `yaml:"content_trust"`
	Replication ReplicationConfig `yaml:"replication"`
	Charts      ChartsConfig      `yaml:"charts"`
	GC          GCConfig          `yaml:"gc"`
	Webhooks    WebhooksConfig    `yaml:"webhooks"`
	Retention   RetentionConfig   `yaml:"retention"`
	Immutable   ImmutableConfig   `yaml:"immutable"`
	Labels      LabelsConfig      `yaml:"labels"`
	AuditPurge  AuditPurgeConfig  `yaml:"audit_purge"`
	ProxyCache  ProxyCacheConfig  `yaml:"proxy_cache"`
	Admission   AdmissionConfig   `yaml:"admission"`
	Sessions    SessionsConfig    `yaml:"sessions"`
	OIDC        OIDCConfig        `yaml:"oidc"`
	UI          UIConfig          `yaml:"ui"`
}

// AdmissionConfig configures the Kubernetes admission webhook (package
// admission): POST /k8s/admission/validate and /k8s/admission/mutate.
type AdmissionConfig struct {
	Enabled bool `yaml:"enabled" help:"serve the Kubernetes admission webhook: POST /k8s/admission/validate and /k8s/admission/mutate (no login; the API server must reach it over TLS)"`
	Mutate  bool `yaml:"mutate" help:"the mutating path rewrites this registry's repo:tag images to repo:tag@digest (the validate path works regardless)"`
	// Registries are the names clients reach this server under, besides
	// ExternalURL's host.
	Registries []string `yaml:"registries" help:"host[:port] names under which clients reach this berth, besides external_url's host (e.g. berth.berth.svc:5000)"`
	Allow      []string `yaml:"allow" help:"images of other registries admitted: glob patterns over host/path (e.g. docker.io/library/*, ghcr.io/acme/**)"`
	Deny       []string `yaml:"deny" help:"images of other registries refused (deny wins over allow)"`
	// OtherRegistries is allow or deny.
	OtherRegistries string        `yaml:"other_registries" help:"images of other registries matching neither allow nor deny: allow or deny"`
	CacheTTL        time.Duration `yaml:"cache_ttl" help:"how long an image's decision, and a tag's digest, is reused"`
	// Addr serves the webhook on a listener of its own (with the server's
	// TLS) instead of on Addr, so a public ingress in front of Addr never
	// reaches the decisions.
	Addr string `yaml:"addr" help:"serve the webhook only on this address (its own listener, with the server's TLS settings) instead of on addr, so an ingress in front of addr never reaches it"`
}

// ProxyCacheConfig configures proxy cache projects: projects created with
// a registry_id (with auth and replication on, whose registries they use).
type ProxyCacheConfig struct {
	Enabled bool `yaml:"enabled" help:"proxy cache projects: a project created with a registry_id pulls what it lacks from that registry"`
	// Timeout bounds each call to an upstream before the cached copy is
	// served instead.
	Timeout time.Duration `yaml:"timeout" help:"upstream connect, header and stall timeout; past it a cached copy is served, marked stale"`
	// ServeDeletedTags keeps serving a cached tag the upstream deleted.
	ServeDeletedTags bool `yaml:"serve_deleted_tags" help:"keep serving a cached tag the upstream no longer has (false: answer 404 and drop it)"`
	// MaxConcurrent bounds each project's upstream calls in flight.
	MaxConcurrent int64 `yaml:"max_concurrent" help:"upstream calls in flight per proxy project; a pull needing one more gets 429 with Retry-After"`
	// RetentionDays gives new proxy projects a retention policy keeping
	// what was pulled within that many days; 0 gives none.
	RetentionDays int64 `yaml:"retention_days" help:"new proxy cache projects keep artifacts pulled within this many days (a retention policy, editable; 0: none)"`
}

// UIConfig configures the web portal (package ui), served with auth on.
type UIConfig struct {
	Enabled bool `yaml:"enabled" help:"the web portal: projects, repositories, artifacts, members, robots, replication, scanning, clean up, audit log, configuration"`
	// Path is where the portal is served; a reverse proxy publishing it
	// under a sub-path passes that path on unchanged.
	Path string `yaml:"path" help:"URL path the web portal is served under (a reverse proxy publishing it under a sub-path must pass the path on unchanged)"`
}

// LabelsConfig configures labels.
type LabelsConfig struct {
	Enabled bool `yaml:"enabled" help:"labels: global and project labels on artifacts (/api/v2.0/labels), for people and for retention and replication filters"`
}

// AuditPurgeConfig configures the audit log's purge; its schedule is set
// through the API (/system/purgeaudit/schedule).
type AuditPurgeConfig struct {
	Enabled bool `yaml:"enabled" help:"audit log purge: on demand and on a schedule, entries older than a retention deleted in short batches"`
}

// RetentionConfig configures tag retention.
type RetentionConfig struct {
	Enabled bool `yaml:"enabled" help:"tag retention: per-project rules deleting old artifacts, on demand or on a schedule"`
}

// ImmutableConfig configures tag immutability.
type ImmutableConfig struct {
	Enabled bool `yaml:"enabled" help:"tag immutability: per-project rules refusing to overwrite or delete matching tags"`
}

// WebhooksConfig configures project webhooks.
type WebhooksConfig struct {
	Enabled bool `yaml:"enabled" help:"project webhooks: signed, durable deliveries of pushes, pulls, deletions and more to HTTP receivers"`
	// RetryBackoff is the wait after a failed delivery, doubling after
	// each further failure, up to an hour.
	RetryBackoff time.Duration `yaml:"retry_backoff" help:"wait after a failed webhook delivery, doubling with each further failure up to an hour (8 attempts)"`
}

// GCConfig configures garbage collection; its schedule is set through the
// API (/system/gc/schedule).
type GCConfig struct {
	Enabled bool `yaml:"enabled" help:"garbage collection: runs on demand and on a schedule, online, freeing what nothing references"`
	// GraceWindow protects blobs uploaded or mounted more recently.
	GraceWindow time.Duration `yaml:"grace_window" help:"blobs uploaded or mounted more recently than this are never collected"`
}

// TLSConfig makes the server speak HTTPS (and HTTP/2) itself: Docker,
// containerd and podman refuse plain HTTP to hosts other than loopback.
type TLSConfig struct {
	// CertFile and KeyFile are PEM files, re-read when they change (a
	// cert-manager rotation needs no restart).
	CertFile string `yaml:"cert_file" help:"PEM certificate chain; reloaded when the file changes"`
	KeyFile  string `yaml:"key_file" help:"PEM private key of cert_file"`
	// SelfSigned generates (once, kept in <data>/tls/) a CA and a
	// certificate for the external host name: for development.
	SelfSigned bool `yaml:"self_signed" help:"serve a certificate for the external host name signed by a CA generated once into <data>/tls/ca.crt (development)"`
}

// LDAPConfig logs users in against LDAP or Active Directory.
type LDAPConfig struct {
	// ConfigFile is a JSON file describing the directory (see SECURITY.md
	// and the README); the bind password is kept apart.
	ConfigFile   string `yaml:"config" help:"JSON file configuring LDAP/AD login"`
	BindPassword string `yaml:"bind_password" secret:"true" help:"password of the LDAP bind DN"`
}

// ScanConfig configures vulnerability scanning (with auth on).
type ScanConfig struct {
	Enabled bool `yaml:"enabled" help:"vulnerability scanning: scanners, reports, the vulnerability gate, scan-on-push"`
	// Unscanned and Failed are the gate's rules for artifacts with no
	// report and with a failed scan: allow or deny.
	Unscanned string        `yaml:"unscanned" help:"vulnerability gate for artifacts not (yet) scanned: allow or deny"`
	Failed    string        `yaml:"failed" help:"vulnerability gate for artifacts whose last scan failed: allow or deny"`
	Timeout   time.Duration `yaml:"timeout" help:"longest one scan attempt may run"`
	// AdapterPath serves the built-in scanner as a Harbor pluggable
	// scanner adapter there, when AdapterToken is set.
	AdapterPath  string `yaml:"adapter_path" help:"serve the built-in scanner as a Harbor scanner adapter under this path (with adapter_token set; empty: off)"`
	AdapterToken string `yaml:"adapter_token" secret:"true" help:"token Harbor (or another berth) presents to use the built-in scanner's adapter"`
}

// TrivyConfig configures the built-in Trivy scanner, for binaries that
// plug it in (WithBuiltinScanner); the server itself does not read it.
type TrivyConfig struct {
	Enabled      bool          `yaml:"enabled" help:"scan with the built-in Trivy scanner (in builds with GOEXPERIMENT=jsonv2)"`
	DBRepository string        `yaml:"db_repository" help:"OCI repository of Trivy's vulnerability DB (default: Trivy's public ones)"`
	DBFromBerth  string        `yaml:"db_from_berth" help:"read Trivy's vulnerability DB from this repository:tag in this server (air-gapped sites), e.g. system/trivy-db:2"`
	DBUpdate     string        `yaml:"db_update" help:"cron schedule of vulnerability DB updates (never during a scan)"`
	Retry        time.Duration `yaml:"retry" help:"while the vulnerability DB is unavailable, retry fetching it this often"`
}

// TrustConfig configures content trust (cosign and Notation signatures).
type TrustConfig struct {
	Enabled bool `yaml:"enabled" help:"content trust: the signature gate on pulls and the trust API (policies are off until set)"`
	// Revocation checks Notation certificates online (OCSP, then CRL).
	Revocation bool `yaml:"revocation" help:"check Notation signing certificates for revocation online; off, verification never leaves the server"`
	// GatePushers applies the gate to callers who may push too.
	GatePushers bool `yaml:"gate_pushers" help:"apply content trust to callers who may push the repository too (by default signing clients read what they sign)"`
}

// ReplicationConfig configures replication between registries.
type ReplicationConfig struct {
	Enabled bool `yaml:"enabled" help:"replicate to and from other registries (policies, executions, the /registries and /replication API)"`
}

// ChartsConfig configures the Helm chart repositories.
type ChartsConfig struct {
	Enabled bool `yaml:"enabled" help:"Helm chart repositories under /chartrepo/ and /api/chartrepo/"`
}

// DefaultConfig is the configuration of a server started with no file,
// no environment and no flags.
func DefaultConfig() Config {
	return Config{
		Addr:                "127.0.0.1:5000",
		DataDir:             "./data",
		LogLevel:            "info",
		Auth:                true,
		LibraryProject:      true,
		DefaultStorageLimit: -1,
		MaxManifestBytes:    registry.DefaultMaxManifestSize,
		UploadMaxAge:        time.Hour,
		LoginThrottle:       true,
		Database:            DatabaseConfig{MaxConns: 16, StatementTimeout: 30 * time.Second},
		Storage:             StorageConfig{S3: S3Config{CacheMaxBytes: 10 << 30}},
		Scan: ScanConfig{Enabled: true, Unscanned: "allow", Failed: "allow", Timeout: 30 * time.Minute,
			AdapterPath: "/scanner-adapter"},
		Trivy:       TrivyConfig{Enabled: true, DBUpdate: "@every 6h", Retry: time.Minute},
		Trust:       TrustConfig{Enabled: true},
		Replication: ReplicationConfig{Enabled: true},
		Charts:      ChartsConfig{Enabled: true},
		GC:          GCConfig{Enabled: true, GraceWindow: registry.DefaultGCGraceWindow},
		Webhooks:    WebhooksConfig{Enabled: true, RetryBackoff: 30 * time.Second},
		Retention:   RetentionConfig{Enabled: true},
		Immutable:   ImmutableConfig{Enabled: true},
		Labels:      LabelsConfig{Enabled: true},
		AuditPurge:  AuditPurgeConfig{Enabled: true},
		ProxyCache: ProxyCacheConfig{Enabled: true, Timeout: 5 * time.Second, ServeDeletedTags: true,
			MaxConcurrent: 32, RetentionDays: 7},
		Admission: AdmissionConfig{OtherRegistries: "allow", CacheTTL: 30 * time.Second},
		Sessions:  SessionsConfig{IdleTimeout: session.DefaultIdleTimeout, Lifetime: session.DefaultLifetime},
		OIDC:      defaultOIDC(),
		UI:        UIConfig{Enabled: true, Path: "/"},
	}
}
