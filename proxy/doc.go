// Package proxy makes projects pull-through caches of upstream registries
// (Docker Hub, GHCR, Quay, Harbor, Distribution, another berth). A Cache is
// the registry.Upstream hook: on a pull from a proxy project it brings the
// tag up to date with a HEAD to the upstream, fetches manifests and blobs
// the registry lacks (one download per blob however many clients wait for
// it, streamed to all of them while it arrives) and stores them through
// the registry's in-process transport, so quotas, scanning on push,
// retention, GC and the pull gates apply to cached content as to pushed
// content. When the upstream is down, slow, rate-limited or says a cached
// tag is gone, the cached copy is served with a Warning header: a cache
// never fails a pull it could have served.
//
//	fills, _ := fanout.New(filepath.Join(dataDir, "proxy-spool"), fanout.WithFillTimeout(time.Hour))
//	var reg *registry.Registry // the cache stores into it; it consults the cache
//	local := roundTripper(func(r *http.Request) (*http.Response, error) {
//		return reg.Transport(registry.SystemActor("proxy cache")).RoundTrip(r)
//	})
//	cache, _ := proxy.New(mySources, local, fills)
//	reg, _ = registry.New(ctx, blobs, db, registry.WithUpstream(cache))
//
// Sources says which projects are caches of what (the reference server
// reads a project's registry_id); the package's limits are per project:
// concurrent upstream calls (429 with Retry-After past them) and
// bandwidth.
package proxy
