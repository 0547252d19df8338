package upstream

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/core"
)

// Descriptor names a manifest: its digest, media type and size.
type Descriptor struct {
	Digest    digest.Digest
	MediaType string
	Size      int64
}

// Manifest is a verified manifest and its exact bytes.
type Manifest struct {
	Descriptor
	Body []byte
}

// target checks a call's repository and reference and names the call.
func (c *Client) target(kind, repo, ref string) (upRepo string, want digest.Digest, what string, err error) {
	what = describe(kind, named(repo), named(ref))
	if upRepo, err = c.repository(repo, what); err != nil {
		return "", "", what, err
	}
	if want, err = c.reference(ref, what); err != nil {
		return "", "", what, err
	}
	return upRepo, want, describe(kind, upRepo, ref), nil
}

// Head resolves ref (a tag or digest) with a HEAD request, which Docker
// Hub does not count against its pull limit. When the upstream's answer
// lacks what a descriptor needs (a digest for a tag, a size, a known media
// type) it falls back to fetching the manifest.
func (c *Client) Head(ctx context.Context, repo, ref string) (Descriptor, error) {
	repo, want, what, err := c.target("manifest", repo, ref)
	if err != nil {
		return Descriptor{}, err
	}
	release, err := c.acquire(what)
	if err != nil {
		return Descriptor{}, err
	}
	defer release()
	resp, err := c.send(ctx, repo, what, http.MethodHead, c.manifestURL(repo, ref), manifestTypes...)
	if err != nil {
		return Descriptor{}, err
	}
	resp.Body.Close()
	mt := mediaType(resp.Header.Get("Content-Type"))
	if isSchema1(mt) {
		return Descriptor{}, c.fail(core.ErrInvalid, what, "Docker schema 1 manifests are not supported")
	}
	header := resp.Header.Get("Docker-Content-Digest")
	if !isManifestType(mt) || resp.ContentLength < 0 || (header == "" && want == "") {
		m, err := c.fetchManifest(ctx, repo, ref, want, what)
		return m.Descriptor, err
	}
	if resp.ContentLength > c.maxManifest {
		return Descriptor{}, c.fail(core.ErrInvalid, what, fmt.Sprintf("%d bytes, over the limit of %d", resp.ContentLength, c.maxManifest))
	}
	d := want
	if header != "" {
		if d, err = digest.Parse(header); err != nil {
			return Descriptor{}, c.fail(core.ErrInvalid, what, fmt.Sprintf("malformed Docker-Content-Digest %q", sanitize(header, 80)))
		}
		if want != "" && d != want {
			return Descriptor{}, c.fail(core.ErrInvalid, what, fmt.Sprintf("digest mismatch: asked for %s, Docker-Content-Digest says %s", want, d))
		}
	}
	return Descriptor{Digest: d, MediaType: mt, Size: resp.ContentLength}, nil
}

// Manifest fetches and verifies the manifest ref (a tag or digest) names.
func (c *Client) Manifest(ctx context.Context, repo, ref string) (Manifest, error) {
	repo, want, what, err := c.target("manifest", repo, ref)
	if err != nil {
		return Manifest{}, err
	}
	release, err := c.acquire(what)
	if err != nil {
		return Manifest{}, err
	}
	defer release()
	return c.fetchManifest(ctx, repo, ref, want, what)
}

func (c *Client) manifestURL(repo, ref string) string {
	return c.base + "/v2/" + repo + "/manifests/" + ref
}

func (c *Client) fetchManifest(ctx context.Context, repo, ref string, want digest.Digest, what string) (Manifest, error) {
	resp, err := c.send(ctx, repo, what, http.MethodGet, c.manifestURL(repo, ref), manifestTypes...)
	if err != nil {
		return Manifest{}, err
	}
	defer resp.Body.Close()
	body, err := c.readBounded(ctx, resp, what)
	if err != nil {
		return Manifest{}, err
	}
	d, err := validateManifest(body, resp.Header.Get("Content-Type"), want, resp.Header.Get("Docker-Content-Digest"))
	if err != nil {
		return Manifest{}, c.wrapCall(ctx, what, err)
	}
	return Manifest{Descriptor: d, Body: body}, nil
}

// readBounded reads a manifest-sized body, never more than the limit
// (plus one byte, to tell "at the limit" from "over it").
func (c *Client) readBounded(ctx context.Context, resp *http.Response, what string) ([]byte, error) {
	over := c.fail(core.ErrInvalid, what, fmt.Sprintf("larger than the limit of %d bytes", c.maxManifest))
	if resp.ContentLength > c.maxManifest {
		return nil, over
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxManifest+1))
	if err != nil {
		return nil, c.wrapCall(ctx, what, err)
	}
	if int64(len(body)) > c.maxManifest {
		return nil, over
	}
	return body, nil
}
