package registry

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage"
)

//go:embed migrations
var migrations embed.FS

// Defaults and bounds.
const (
	DefaultMaxManifestSize = 4 << 20
	DefaultMaxPageSize     = 1000
	DefaultPageSize        = 100
	// DefaultMaxOpenUploads bounds resumable upload sessions open at once.
	DefaultMaxOpenUploads = 10000
	// DefaultMaxOpenUploadsPerUser bounds the sessions one caller holds.
	DefaultMaxOpenUploadsPerUser = 500
	// DefaultMaxOpenUploadsPerProject bounds the sessions open in one
	// project, whoever opened them.
	DefaultMaxOpenUploadsPerProject = 2000
	// DefaultUploadIdleTimeout ends a session that received no chunk for
	// this long.
	DefaultUploadIdleTimeout = time.Hour
	// DefaultUploadMaxAge ends a session this long after it started, busy
	// or not.
	DefaultUploadMaxAge = 24 * time.Hour
	// DefaultManifestCacheBytes is the memory for hot manifests.
	DefaultManifestCacheBytes = 64 << 20
)

// Registry is an http.Handler serving the OCI distribution API under /v2/.
type Registry struct {
	blobs storage.Driver
	db    *sqldb.DB
	meta  *metaStore
	log   *slog.Logger

	authorizer Authorizer
	pullGate   PullGate
	pushGate   PushGate
	deleteGate DeleteGate
	events     EventSink
	refusals   EventSink
	upstream   Upstream

	maxManifestSize int64
	maxPageSize     int
	allowSparse     bool
	redirector      storage.Redirector // WithBlobRedirects
	anonymousMount  bool
	// projectScopedMount limits mounts without a source to blobs already
	// in the target's project.
	projectScopedMount bool
	// mountSource, when set, limits mounts without a source to
	// repositories the caller may pull.
	mountSource  func(ctx context.Context, project, repository string) bool
	cacheBytes   int64
	uploadCaps   uploadCaps
	uploadIdle   time.Duration
	uploadMaxAge time.Duration
	now          func() time.Time

	uploadLocks keyedMutex
	// blobLocks serialise committing or linking a digest with garbage
	// collection removing it (gc.go).
	blobLocks keyedMutex
	holders   []BlobHolder
	pulls     pullTimes
}

// Option configures a Registry.
type Option func(*Registry)

// WithLogger sets the logger (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(r *Registry) { r.log = l } }

// WithAuthorizer sets the access check run before every request.
func WithAuthorizer(a Authorizer) Option { return func(r *Registry) { r.authorizer = a } }

// WithPullGate sets the check run before a manifest is served.
func WithPullGate(g PullGate) Option { return func(r *Registry) { r.pullGate = g } }

// WithPushGate sets the check run before a manifest is stored.
func WithPushGate(g PushGate) Option { return func(r *Registry) { r.pushGate = g } }

// WithDeleteGate sets the check run before every deletion of a tag or a
// manifest.
func WithDeleteGate(g DeleteGate) Option { return func(r *Registry) { r.deleteGate = g } }

// WithEventSink sets where events go (default: nowhere).
func WithEventSink(s EventSink) Option { return func(r *Registry) { r.events = s } }

// WithRefusalSink sets where refusals go (default: nowhere): events with
// Refused set, for an audit log. They never reach the WithEventSink sink,
// whose consumers (scan on push, replication triggers) act on what
// happened.
func WithRefusalSink(s EventSink) Option { return func(r *Registry) { r.refusals = s } }

// WithMaxManifestSize bounds manifest bodies (default 4 MiB); larger
// pushes are answered 413.
func WithMaxManifestSize(n int64) Option { return func(r *Registry) { r.maxManifestSize = n } }

// WithMaxPageSize bounds n on tag, catalog and referrer listings.
func WithMaxPageSize(n int) Option { return func(r *Registry) { r.maxPageSize = n } }

// WithSparseManifests accepts manifests whose layers or child manifests are
// not in the repository, for mirrors that copy only some platforms or
// skip layers. The missing content stays unreadable; only its references
// are recorded.
func WithSparseManifests() Option { return func(r *Registry) { r.allowSparse = true } }

// WithBlobRedirects answers blob GETs with 307 Temporary Redirect to a
// URL of the storage driver's (storage.Redirector: an object store's
// presigned URL), so bulk bytes go from the store to the client without
// passing through the registry. Authorization, pull gates and pull events
// happen as for a served blob; HEADs and manifests fetched as blobs are
// still answered here. A driver that is not a Redirector ignores it.
func WithBlobRedirects() Option {
	return func(r *Registry) { r.redirector, _ = r.blobs.(storage.Redirector) }
}

// WithoutAnonymousMount refuses mounts that name no source repository.
// By default such a mount succeeds when the blob is stored anywhere, as the
// spec allows; that lets anyone who knows a digest and may push somewhere
// link the blob into their repository. Turn it off when digests of private
// content must not act as read capabilities.
func WithoutAnonymousMount() Option { return func(r *Registry) { r.anonymousMount = false } }

// WithManifestCache sets the memory kept for hot manifests (0 disables).
// The cache is used only when this process is the database's only writer
// (embedded SQLite); with a shared database every read goes to SQL.
func WithManifestCache(bytes int64) Option { return func(r *Registry) { r.cacheBytes = bytes } }

// WithProjectScopedAnonymousMount keeps mounts without a source repository
// inside the target's project (its first path component): the blob must
// already be linked to a repository of that project. Use it when projects
// are tenants, so a digest from another tenant's private image is never a
// way to read it.
func WithProjectScopedAnonymousMount() Option {
	return func(r *Registry) { r.projectScopedMount = true }
}

// New builds a Registry over a blob driver and a SQL database. It applies
// the registry's migrations to db. A nil db gets a private in-memory SQLite
// database, handy for tests and embedding; it is lost when the process ends.
func New(ctx context.Context, blobs storage.Driver, db *sqldb.DB, opts ...Option) (*Registry, error) {
	if blobs == nil {
		return nil, errors.New("registry: a storage driver is required")
	}
	if db == nil {
		var err error
		if db, err = sqldb.OpenSQLiteMemory(ctx); err != nil {
			return nil, err
		}
	}
	if err := db.MigrateDialect(ctx, "registry", migrations); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	rg := &Registry{
		blobs:           blobs,
		db:              db,
		meta:            &metaStore{db: db},
		log:             slog.Default(),
		authorizer:      allowAll{},
		refusals:        allowAll{},
		pullGate:        allowAll{},
		pushGate:        allowAll{},
		deleteGate:      allowAll{},
		events:          allowAll{},
		maxManifestSize: DefaultMaxManifestSize,
		maxPageSize:     DefaultMaxPageSize,
		anonymousMount:  true,
		cacheBytes:      DefaultManifestCacheBytes,
		uploadCaps: uploadCaps{perUser: DefaultMaxOpenUploadsPerUser,
			perProject: DefaultMaxOpenUploadsPerProject, global: DefaultMaxOpenUploads},
		uploadIdle:   DefaultUploadIdleTimeout,
		uploadMaxAge: DefaultUploadMaxAge,
		now:          time.Now,
		pulls:        pullTimes{every: DefaultPullFlushInterval, kick: make(chan struct{}, 1)},
	}
	for _, o := range opts {
		o(rg)
	}
	if rg.cacheBytes > 0 && db.Exclusive() {
		rg.meta.cache = newManifestCache(rg.cacheBytes)
	}
	if !db.Exclusive() {
		rg.meta.stored = rg.storedForLink // other processes may collect garbage
	}
	go rg.flushPulls(ctx)
	return rg, nil
}

// ServeHTTP routes /v2/ requests.
func (rg *Registry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	rt := parseRoute(r.URL.Path)
	if rt.kind == routeUnknown {
		rg.writeError(w, r, newError(http.StatusNotFound, CodeUnsupported, "unknown API path"))
		return
	}
	if rt.kind != routeBase && rt.kind != routeCatalog && !ValidName(rt.name) {
		rg.writeError(w, r, newError(http.StatusBadRequest, CodeNameInvalid, fmt.Sprintf("invalid repository name %q", truncate(rt.name))))
		return
	}
	h, need, err := rg.handlerFor(r, rt)
	if err != nil {
		rg.writeError(w, r, err)
		return
	}
	ctx, err := r.Context(), error(nil)
	if !isInternal(ctx) {
		ctx, err = rg.authorizer.Authorize(r, need)
	}
	if err != nil {
		if ctx != nil && ActorFrom(ctx) != "" {
			rg.refused(r.WithContext(ctx), rt, need, err)
		}
		rg.writeError(w, r, err)
		return
	}
	if ctx != nil {
		r = r.WithContext(ctx)
	}
	if err := h(w, r, rt); err != nil {
		rg.writeError(w, r, err)
	}
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, rt route) error

func repoAccess(name string, actions ...string) []Access {
	return []Access{{Type: ResourceRepository, Name: name, Actions: actions}}
}

// handlerFor picks the handler for a route and method, and what access it
// needs.
func (rg *Registry) handlerFor(r *http.Request, rt route) (handlerFunc, []Access, error) {
	m := r.Method
	get := m == http.MethodGet || m == http.MethodHead
	switch rt.kind {
	case routeBase:
		if get {
			return rg.base, nil, nil
		}
	case routeCatalog:
		if get {
			return rg.catalog, []Access{{Type: ResourceRegistry, Name: "catalog", Actions: []string{ActionAll}}}, nil
		}
	case routeTags:
		if get {
			return rg.tags, repoAccess(rt.name, ActionPull), nil
		}
	case routeReferrers:
		if get {
			return rg.referrers, repoAccess(rt.name, ActionPull), nil
		}
	case routeManifest:
		switch {
		case get:
			return rg.getManifest, repoAccess(rt.name, ActionPull), nil
		case m == http.MethodPut:
			return rg.putManifest, repoAccess(rt.name, ActionPull, ActionPush), nil
		case m == http.MethodDelete:
			return rg.deleteManifest, repoAccess(rt.name, ActionDelete), nil
		}
	case routeBlob:
		switch {
		case get:
			return rg.getBlob, repoAccess(rt.name, ActionPull), nil
		case m == http.MethodDelete:
			return rg.deleteBlob, repoAccess(rt.name, ActionDelete), nil
		}
	case routeUploadStart:
		if m == http.MethodPost {
			need := repoAccess(rt.name, ActionPull, ActionPush)
			if from := r.URL.Query().Get("from"); from != "" && r.URL.Query().Get("mount") != "" && from != rt.name {
				if !ValidName(from) {
					return nil, nil, newError(http.StatusBadRequest, CodeNameInvalid, fmt.Sprintf("invalid mount source %q", truncate(from)))
				}
				need = append(need, Access{Type: ResourceRepository, Name: from, Actions: []string{ActionPull}})
			}
			return rg.startUpload, need, nil
		}
	case routeUpload:
		switch m {
		case http.MethodGet, http.MethodHead:
			return rg.uploadStatus, repoAccess(rt.name, ActionPull, ActionPush), nil
		case http.MethodPatch:
			return rg.patchUpload, repoAccess(rt.name, ActionPull, ActionPush), nil
		case http.MethodPut:
			return rg.putUpload, repoAccess(rt.name, ActionPull, ActionPush), nil
		case http.MethodDelete:
			return rg.cancelUpload, repoAccess(rt.name, ActionPull, ActionPush), nil
		}
	}
	return nil, nil, newError(http.StatusMethodNotAllowed, CodeUnsupported, "method "+m+" not allowed here")
}

func (rg *Registry) base(w http.ResponseWriter, r *http.Request, _ route) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "2")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write([]byte("{}"))
	}
	return nil
}

func (rg *Registry) emit(r *http.Request, e Event) {
	e.Time = rg.now()
	e.RemoteAddr = r.RemoteAddr
	e.UserAgent = r.UserAgent()
	e.Actor = ActorFrom(r.Context())
	rg.events.Emit(r.Context(), e)
}

// refused reports an access refusal of a known caller.
func (rg *Registry) refused(r *http.Request, rt route, need []Access, err error) {
	if rt.name == "" {
		return // the ping and the catalog: no repository at stake
	}
	e := Event{Action: EventPull, Target: targetOf(rt), Repository: rt.name, Tag: tagOf(rt.ref)}
	if d, derr := ParseDigest(rt.ref); derr == nil {
		e.Digest = d
	}
	for _, a := range need {
		if a.Name != rt.name {
			continue
		}
		for _, act := range a.Actions {
			switch act {
			case ActionPush:
				e.Action = EventPush
			case ActionDelete:
				e.Action = EventDelete
			}
		}
	}
	rg.emitRefusal(r, e, err)
}

// emitRefusal emits e as the refusal err answers.
func (rg *Registry) emitRefusal(r *http.Request, e Event, err error) {
	e.Status, e.Refused = http.StatusInternalServerError, err.Error()
	var re *Error
	if errors.As(err, &re) {
		e.Status, e.Refused = re.Status, re.Message
	}
	e.Time, e.RemoteAddr, e.UserAgent, e.Actor = rg.now(), r.RemoteAddr, r.UserAgent(), ActorFrom(r.Context())
	rg.refusals.Emit(r.Context(), e)
}

// targetOf names what a route is about, for events.
func targetOf(rt route) EventTarget {
	switch rt.kind {
	case routeManifest:
		return TargetManifest
	case routeTags:
		return TargetTag
	}
	return TargetBlob
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// checkPull asks the PullGate, except for requests made through
// Transport; a refusal is reported as an event.
func (rg *Registry) checkPull(r *http.Request, t Target) error {
	if isInternal(r.Context()) {
		return nil
	}
	err := rg.pullGate.CheckPull(r.Context(), t)
	if err != nil {
		rg.emitRefusal(r, Event{Action: EventPull, Target: TargetManifest, Repository: t.Repository, Digest: t.Digest,
			MediaType: t.MediaType, ArtifactType: t.ArtifactType, Tag: tagOf(t.Reference)}, err)
	}
	return err
}
