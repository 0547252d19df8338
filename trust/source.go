package trust

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Source reads what signature discovery needs from a registry. Registry
// builds one that speaks the distribution API.
type Source interface {
	// Manifest returns a manifest's media type and bytes (at most limit),
	// or an error wrapping ErrNotFound.
	Manifest(ctx context.Context, repo, ref string, limit int64) (string, []byte, error)
	// Blob returns a blob's bytes (at most limit) after checking them
	// against d.
	Blob(ctx context.Context, repo string, d digest.Digest, limit int64) ([]byte, error)
	// Referrers lists the manifests whose subject is d and whose
	// artifact type is artifactType (a Source may return others too), up
	// to about limit of them.
	Referrers(ctx context.Context, repo string, d digest.Digest, artifactType string, limit int) ([]ocispec.Descriptor, error)
}

// Registry returns a Source that speaks the OCI distribution API through
// rt at base (for example "http://registry.example.com"). Give it a
// berth registry's in-process transport, registry.Registry.Transport,
// which skips authorization and the pull gate, or any authenticating
// transport.
func Registry(rt http.RoundTripper, base string) *Client {
	return &Client{c: &http.Client{Transport: rt}, base: strings.TrimSuffix(base, "/")}
}

// Client speaks the distribution API: a Source, and what signing pushes.
type Client struct {
	c    *http.Client
	base string
}

var manifestAccept = strings.Join([]string{ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex,
	"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json"}, ", ")

func (s *Client) get(ctx context.Context, path, accept string, limit int64) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return nil, nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := s.c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return resp, nil, fmt.Errorf("GET %s: %w", path, ErrNotFound)
	case resp.StatusCode != http.StatusOK:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return resp, nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	case resp.ContentLength > limit:
		return resp, nil, fmt.Errorf("GET %s: %d bytes, more than the limit of %d", path, resp.ContentLength, limit)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return resp, nil, err
	}
	if int64(len(b)) > limit {
		return resp, nil, fmt.Errorf("GET %s: more than the limit of %d bytes", path, limit)
	}
	return resp, b, nil
}

func repoPath(repo string) string {
	parts := strings.Split(repo, "/")
	for i := range parts {
		parts[i] = url.PathEscape(parts[i])
	}
	return "/v2/" + strings.Join(parts, "/")
}

func (s *Client) Manifest(ctx context.Context, repo, ref string, limit int64) (string, []byte, error) {
	resp, b, err := s.get(ctx, repoPath(repo)+"/manifests/"+url.PathEscape(ref), manifestAccept, limit)
	if err != nil {
		return "", nil, err
	}
	if d, err := digest.Parse(ref); err == nil {
		if err := d.Validate(); err != nil || d.Algorithm().FromBytes(b) != d {
			return "", nil, fmt.Errorf("manifest %s@%s: content does not match its digest", repo, ref)
		}
	}
	return resp.Header.Get("Content-Type"), b, nil
}

func (s *Client) Blob(ctx context.Context, repo string, d digest.Digest, limit int64) ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("blob digest %q: %w", d, err)
	}
	_, b, err := s.get(ctx, repoPath(repo)+"/blobs/"+d.String(), "", limit)
	if err != nil {
		return nil, err
	}
	if d.Algorithm().FromBytes(b) != d {
		return nil, fmt.Errorf("blob %s@%s: content does not match its digest", repo, d)
	}
	return b, nil
}

// maxReferrersIndex bounds each page of a referrers listing read.
const maxReferrersIndex = 4 << 20

// maxReferrersPages bounds the pages of a referrers listing followed.
const maxReferrersPages = 8

func (s *Client) Referrers(ctx context.Context, repo string, d digest.Digest, artifactType string, limit int) ([]ocispec.Descriptor, error) {
	path := repoPath(repo) + "/referrers/" + d.String()
	if artifactType != "" {
		path += "?artifactType=" + url.QueryEscape(artifactType)
	}
	var out []ocispec.Descriptor
	for page := 0; page < maxReferrersPages && path != "" && len(out) < limit; page++ {
		resp, b, err := s.get(ctx, path, ocispec.MediaTypeImageIndex, maxReferrersIndex)
		if errors.Is(err, ErrNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		var idx ocispec.Index
		if err := json.Unmarshal(b, &idx); err != nil {
			return nil, fmt.Errorf("referrers of %s@%s: %w", repo, d, err)
		}
		for _, m := range idx.Manifests {
			if artifactType == "" || m.ArtifactType == artifactType {
				out = append(out, m)
			}
		}
		path = nextLink(resp.Header.Get("Link"))
	}
	return out, nil
}

// nextLink reads the path of a Link header's rel="next" target, only
// when it stays on this registry's /v2/ API.
func nextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if !ok || !strings.Contains(params, `rel="next"`) {
			continue
		}
		target = strings.Trim(strings.TrimSpace(target), "<>")
		u, err := url.Parse(target)
		if err != nil || u.Host != "" || !strings.HasPrefix(u.Path, "/v2/") {
			return ""
		}
		return u.RequestURI()
	}
	return ""
}

// PushBlob uploads a blob in one request (POST, then PUT with the digest).
func (s *Client) PushBlob(ctx context.Context, repo string, b []byte) (digest.Digest, error) {
	d := digest.FromBytes(b)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+repoPath(repo)+"/blobs/uploads/", nil)
	if err != nil {
		return "", err
	}
	resp, err := s.c.Do(req)
	if err != nil {
		return "", err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("starting an upload to %s: %s", repo, resp.Status)
	}
	loc, err := resp.Location()
	if err != nil {
		return "", fmt.Errorf("starting an upload to %s: %w", repo, err)
	}
	q := loc.Query()
	q.Set("digest", d.String())
	loc.RawQuery = q.Encode()
	put, err := http.NewRequestWithContext(ctx, http.MethodPut, loc.String(), bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	put.Header.Set("Content-Type", "application/octet-stream")
	put.ContentLength = int64(len(b))
	resp, err = s.c.Do(put)
	if err != nil {
		return "", err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("uploading blob %s to %s: %s", d, repo, resp.Status)
	}
	return d, nil
}

// PushManifest stores a manifest under ref (a tag, or its digest).
func (s *Client) PushManifest(ctx context.Context, repo, ref, mediaType string, b []byte) (digest.Digest, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.base+repoPath(repo)+"/manifests/"+url.PathEscape(ref), bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", mediaType)
	req.ContentLength = int64(len(b))
	resp, err := s.c.Do(req)
	if err != nil {
		return "", err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("pushing manifest %s:%s: %s %s", repo, ref, resp.Status, bytes.TrimSpace(msg))
	}
	return digest.FromBytes(b), nil
}
