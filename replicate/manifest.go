package replicate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
)

// manifest is what a copy reads from a manifest or an index.
type manifest struct {
	MediaType    string       `json:"mediaType"`
	ArtifactType string       `json:"artifactType"`
	Config       *descriptor  `json:"config"`
	Layers       []descriptor `json:"layers"`
	Manifests    []descriptor `json:"manifests"`
	Subject      *descriptor  `json:"subject"`
	Annotations  map[string]string
}

type descriptor struct {
	MediaType string        `json:"mediaType"`
	Digest    digest.Digest `json:"digest"`
	Size      int64         `json:"size"`
	URLs      []string      `json:"urls"`
}

// raw is a manifest as fetched, verified against its digest.
type raw struct {
	digest    digest.Digest
	mediaType string
	body      []byte
	parsed    manifest
}

func isManifestType(mt string) bool {
	switch types.MediaType(mt) {
	case types.OCIManifestSchema1, types.OCIImageIndex, types.DockerManifestSchema2, types.DockerManifestList:
		return true
	}
	return false
}

// fetchManifest reads srcRepo's manifest ref, at most maxManifestSize
// bytes, and checks it against its digest.
func (c *Copier) fetchManifest(ctx context.Context, repo, ref string) (*raw, error) {
	cl, err := c.src.client(ctx, repo, false, "")
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.src.url("/v2/"+repo+"/manifests/"+ref), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", strings.Join([]string{string(types.OCIImageIndex), string(types.OCIManifestSchema1),
		string(types.DockerManifestList), string(types.DockerManifestSchema2)}, ", "))
	resp, err := cl.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching %s:%s: %w", repo, ref, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, unexpected("fetching manifest "+repo+":"+ref, resp)
	}
	defer resp.Body.Close()
	if resp.ContentLength > maxManifestSize {
		return nil, fmt.Errorf("manifest %s:%s: %d bytes, more than the limit of %d", repo, ref, resp.ContentLength, maxManifestSize)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("fetching %s:%s: %w", repo, ref, err)
	}
	if len(body) > maxManifestSize {
		return nil, fmt.Errorf("manifest %s:%s is larger than the limit of %d bytes", repo, ref, maxManifestSize)
	}
	d := digest.FromBytes(body)
	if want, err := digest.Parse(ref); err == nil {
		if err := want.Validate(); err != nil {
			return nil, err
		}
		if want.Algorithm() != digest.SHA256 {
			d = want.Algorithm().FromBytes(body)
		}
		if d != want {
			return nil, fmt.Errorf("manifest %s@%s: the source sent content whose digest is %s", repo, want, d)
		}
	}
	m := &raw{digest: d, body: body}
	if err := json.Unmarshal(body, &m.parsed); err != nil {
		return nil, fmt.Errorf("manifest %s:%s is not JSON: %w", repo, ref, err)
	}
	m.mediaType = m.parsed.MediaType
	if ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";"); m.mediaType == "" && ct != "" {
		m.mediaType = strings.TrimSpace(ct)
	}
	if m.mediaType == "" {
		if m.parsed.Manifests != nil {
			m.mediaType = string(types.OCIImageIndex)
		} else {
			m.mediaType = string(types.OCIManifestSchema1)
		}
	}
	if !isManifestType(m.mediaType) {
		return nil, fmt.Errorf("manifest %s:%s has media type %q, which is not replicated", repo, ref, m.mediaType)
	}
	for _, ds := range append(append(append([]descriptor{}, m.parsed.Layers...), m.parsed.Manifests...), derefs(m.parsed.Config)...) {
		if err := ds.Digest.Validate(); err != nil || ds.Size < 0 {
			return nil, fmt.Errorf("manifest %s:%s references a malformed descriptor %q", repo, ref, ds.Digest)
		}
	}
	return m, nil
}

func derefs(d *descriptor) []descriptor {
	if d == nil {
		return nil
	}
	return []descriptor{*d}
}

// headManifest returns the digest repo:ref has at this endpoint.
func (c *conn) headManifest(ctx context.Context, repo, ref string) (digest.Digest, error) {
	cl, err := c.client(ctx, repo, false, "")
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, c.url("/v2/"+repo+"/manifests/"+ref), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", strings.Join([]string{string(types.OCIImageIndex), string(types.OCIManifestSchema1),
		string(types.DockerManifestList), string(types.DockerManifestSchema2)}, ", "))
	resp, err := cl.Do(req)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", unexpected("HEAD manifest "+repo+":"+ref, resp)
	}
	resp.Body.Close()
	return digest.Digest(resp.Header.Get("Docker-Content-Digest")), nil
}

func (c *conn) manifestExists(ctx context.Context, repo, d string) (bool, error) {
	_, err := c.headManifest(ctx, repo, d)
	if err == nil {
		return true, nil
	}
	if isStatus(err, http.StatusNotFound) {
		return false, nil
	}
	return false, err
}

// taggable is a raw manifest for go-containerregistry's Put.
type taggable struct{ m *raw }

func (t taggable) RawManifest() ([]byte, error) { return t.m.body, nil }
func (t taggable) MediaType() (types.MediaType, error) {
	return types.MediaType(t.m.mediaType), nil
}

// putManifest writes m as repo:ref. go-containerregistry keeps the
// referrers fallback tag up to date on registries without the referrers
// API.
func (c *conn) putManifest(ctx context.Context, repo, ref string, m *raw) error {
	r, err := c.repo(repo)
	if err != nil {
		return err
	}
	var putErr error
	if strings.Contains(ref, ":") {
		putErr = remote.Put(r.Digest(ref), taggable{m}, remote.Reuse(c.pusher), remote.WithContext(ctx))
	} else {
		putErr = remote.Put(r.Tag(ref), taggable{m}, remote.Reuse(c.pusher), remote.WithContext(ctx))
	}
	if putErr != nil {
		return fmt.Errorf("writing manifest %s:%s: %w", repo, ref, putErr)
	}
	return nil
}

// referrer is one entry of a referrers listing.
type referrer struct {
	Digest       digest.Digest
	ArtifactType string
}

// referrers lists the referrers of repo@d (referrers API, or the tag
// schema where the registry lacks it).
func (c *conn) referrers(ctx context.Context, repo string, d digest.Digest) ([]referrer, error) {
	r, err := c.repo(repo)
	if err != nil {
		return nil, err
	}
	idx, err := remote.Referrers(r.Digest(d.String()), remote.Reuse(c.puller), remote.WithContext(ctx))
	if err != nil {
		if isStatus(err, http.StatusNotFound) {
			return nil, nil
		}
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(im.Manifests) > maxReferrers {
		return nil, fmt.Errorf("%s@%s has more than %d referrers", repo, d, maxReferrers)
	}
	out := make([]referrer, 0, len(im.Manifests))
	for _, m := range im.Manifests {
		dd, err := digest.Parse(m.Digest.String())
		if err != nil {
			return nil, fmt.Errorf("referrers of %s@%s: %w", repo, d, err)
		}
		if !isManifestType(string(m.MediaType)) {
			continue
		}
		out = append(out, referrer{Digest: dd, ArtifactType: m.ArtifactType})
	}
	return out, nil
}
