// Package upstream is a client of one upstream registry for pull-through
// caching: it resolves tags, fetches manifests, blobs and referrers,
// verifies everything, and tells outages apart from absence.
//
//	c, err := upstream.New(upstream.Endpoint{URL: "https://hub.docker.com", Type: upstream.TypeDockerHub},
//		upstream.WithTimeout(5*time.Second), upstream.WithMaxConcurrent(32))
//	if err != nil { ... }
//	d, err := c.Head(ctx, "nginx", "latest") // library/nginx; HEAD is not a Docker Hub pull
//	switch {
//	case errors.Is(err, core.ErrNotFound):    // the upstream has no such tag: answer 404
//	case errors.Is(err, core.ErrUnavailable): // down, slow, rate-limited: serve the cached copy
//		wait, _ := upstream.RetryAfter(err)
//	}
//	m, err := c.Manifest(ctx, "nginx", d.Digest.String()) // bytes verified against the digest
//	rc, size, err := c.Blob(ctx, "nginx", layer)            // io.EOF only when the bytes are right
//
// Every answer is checked before it is returned: manifests are bounded
// (WithMaxManifestSize), must be JSON of a known manifest type (OCI or
// Docker schema 2; schema 1 is refused) and must hash to the digest asked
// for and to Docker-Content-Digest; blob readers verify length and digest
// as they stream. Errors match core's kinds with errors.Is:
//
//   - core.ErrNotFound: the upstream says it does not have it (404,
//     MANIFEST_UNKNOWN, BLOB_UNKNOWN, NAME_UNKNOWN);
//   - core.ErrUnavailable: it cannot answer now (network errors, timeouts,
//     5xx, 429, more calls than WithMaxConcurrent), with RetryAfter's hint
//     when there is one;
//   - core.ErrDenied: 401/403 after authenticating;
//   - core.ErrInvalid: malformed, oversized or mismatching content,
//     redirect loops, unsupported media types.
//
// A caller's cancelled context gives an error matching context.Canceled
// and no kind. Messages name the upstream's host and the repository and
// reference, and quote an upstream's own text only as a short, sanitized
// snippet.
//
// Authentication is anonymous, Basic, or the Bearer token flow, through
// go-containerregistry's transport: one transport per repository (its
// token is scoped to pulling that repository), kept for the 256 most
// recently used repositories. Credentials go only to the upstream's host
// and its token service, never to blob storage it redirects to.
package upstream
