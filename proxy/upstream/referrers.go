package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/core"
)

// Bounds of one Referrers call: pages followed, and entries in all.
const (
	maxReferrerPages = 16
	maxReferrers     = 10000
)

// Referrers lists the manifests whose subject is d, as an OCI image index
// built by the client (its bytes are not the upstream's), keeping only
// those of artifactType when it is not "". It asks the referrers API and
// follows its pages; an upstream without the API (404) is read through
// the referrers tag schema (tag "sha256-<hex>"). No referrers is an empty
// index, not an error.
func (c *Client) Referrers(ctx context.Context, repo string, d digest.Digest, artifactType string) (Manifest, error) {
	what := "referrers of " + named(repo) + "@" + named(d.String())
	repo, err := c.repository(repo, what)
	if err != nil {
		return Manifest{}, err
	}
	if d, err = c.digest(d.String(), what); err != nil {
		return Manifest{}, err
	}
	what = "referrers of " + repo + "@" + d.String()
	if artifactType != "" && (len(artifactType) > 255 || !strings.EqualFold(mediaType(artifactType), artifactType)) {
		return Manifest{}, c.fail(core.ErrInvalid, what, fmt.Sprintf("artifact type %q is not a media type", sanitize(artifactType, 100)))
	}
	release, err := c.acquire(what)
	if err != nil {
		return Manifest{}, err
	}
	defer release()
	refs, err := c.referrersAPI(ctx, repo, d, artifactType, what)
	var e *Error
	if errors.As(err, &e) && e.status == http.StatusNotFound {
		refs, err = c.referrersTag(ctx, repo, d)
	}
	if err != nil {
		return Manifest{}, err
	}
	// Filter here too: an upstream may ignore the filter (the tag schema
	// has none); filtering twice changes nothing.
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{}}
	for _, r := range refs {
		if artifactType == "" || r.ArtifactType == artifactType {
			idx.Manifests = append(idx.Manifests, r)
		}
	}
	body, err := json.Marshal(idx)
	if err != nil {
		return Manifest{}, fmt.Errorf("upstream %s: %s: %w", c.host, what, err)
	}
	return Manifest{Descriptor: Descriptor{Digest: digest.FromBytes(body), MediaType: idx.MediaType, Size: int64(len(body))}, Body: body}, nil
}

// referrersAPI reads every page of GET /v2/<repo>/referrers/<digest>.
func (c *Client) referrersAPI(ctx context.Context, repo string, d digest.Digest, artifactType, what string) ([]ocispec.Descriptor, error) {
	next := c.base + "/v2/" + repo + "/referrers/" + d.String()
	if artifactType != "" {
		next += "?" + url.Values{"artifactType": {artifactType}}.Encode()
	}
	var all []ocispec.Descriptor
	for page := 0; next != ""; page++ {
		if page == maxReferrerPages {
			return nil, c.fail(core.ErrInvalid, what, fmt.Sprintf("more than %d pages", maxReferrerPages))
		}
		resp, err := c.send(ctx, repo, what, http.MethodGet, next, ocispec.MediaTypeImageIndex)
		if err != nil {
			var e *Error
			if page > 0 && errors.As(err, &e) && e.status == http.StatusNotFound {
				e.status = 0 // a vanished later page is not "no referrers API"
			}
			return nil, err
		}
		body, err := c.readBounded(ctx, resp, what)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		refs, err := c.parseIndex(body, resp.Header.Get("Content-Type"), what)
		if err != nil {
			return nil, err
		}
		if all = append(all, refs...); len(all) > maxReferrers {
			return nil, c.fail(core.ErrInvalid, what, fmt.Sprintf("more than %d referrers", maxReferrers))
		}
		if next, err = c.nextPage(next, resp.Header.Values("Link")); err != nil {
			return nil, c.fail(core.ErrInvalid, what, err.Error())
		}
	}
	return all, nil
}

// referrersTag reads the referrers tag schema's index; no tag, no referrers.
func (c *Client) referrersTag(ctx context.Context, repo string, d digest.Digest) ([]ocispec.Descriptor, error) {
	tag := fallbackTag(d)
	what := describe("referrers tag", repo, tag)
	m, err := c.fetchManifest(ctx, repo, tag, "", what)
	if errors.Is(err, core.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return c.parseIndex(m.Body, m.MediaType, what)
}

// fallbackTag is the referrers tag schema's "<alg>-<hex>", cut to the
// spec's 32 and 64 characters so it stays a valid tag.
func fallbackTag(d digest.Digest) string {
	alg, hex := d.Algorithm().String(), d.Encoded()
	return alg[:min(len(alg), 32)] + "-" + hex[:min(len(hex), 64)]
}

// parseIndex verifies an OCI image index and returns its entries.
func (c *Client) parseIndex(body []byte, contentType, what string) ([]ocispec.Descriptor, error) {
	d, err := validateManifest(body, contentType, "", "")
	if err != nil {
		return nil, c.wrapCall(context.Background(), what, err)
	}
	if d.MediaType != ocispec.MediaTypeImageIndex {
		return nil, c.fail(core.ErrInvalid, what, fmt.Sprintf("an OCI image index was expected, the upstream sent a %s", d.MediaType))
	}
	var idx ocispec.Index
	if err := json.Unmarshal(body, &idx); err != nil {
		return nil, c.fail(core.ErrInvalid, what, "the index does not decode: "+sanitize(err.Error(), 100))
	}
	return idx.Manifests, nil
}

// nextPage finds rel="next" in Link headers, resolved against the page
// just read; it must stay on the upstream (no following a hostile link
// elsewhere with the upstream's credentials or into the local network).
func (c *Client) nextPage(current string, links []string) (string, error) {
	for _, header := range links {
		for _, link := range strings.Split(header, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(link), ";")
			target = strings.TrimSpace(target)
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			if !isNextRel(params) {
				continue
			}
			base, _ := url.Parse(current)
			u, err := base.Parse(strings.Trim(target, "<>"))
			if err != nil || u.Scheme+"://"+u.Host != c.base {
				return "", fmt.Errorf("the next page's link %q leaves the upstream", sanitize(target, 100))
			}
			return u.String(), nil
		}
	}
	return "", nil
}

func isNextRel(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "rel") {
			for _, r := range strings.Fields(strings.Trim(v, `"`)) {
				if r == "next" {
					return true
				}
			}
		}
	}
	return false
}
