package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/proxy/upstream"
	"github.com/berthlabs/berth/registry"
)

// The registry is reached through its in-process transport: any host
// works, only the path is read.
const localBase = "http://registry.local/v2/"

// localManifest returns the digest ref names in the registry, ok false
// when it holds none.
func (c *Cache) localManifest(ctx context.Context, repo, ref string) (digest.Digest, bool, error) {
	resp, err := c.localDo(ctx, http.MethodHead, localBase+repo+"/manifests/"+ref, nil, "")
	if err != nil {
		return "", false, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		d, err := digest.Parse(resp.Header.Get("Docker-Content-Digest"))
		return d, err == nil, err
	case http.StatusNotFound:
		return "", false, nil
	}
	return "", false, fmt.Errorf("proxy: looking up %s:%s locally: status %d", repo, ref, resp.StatusCode)
}

// heldManifest returns the manifest d of repo when the registry holds it.
func (c *Cache) heldManifest(ctx context.Context, repo string, d digest.Digest) (upstream.Manifest, bool, error) {
	resp, err := c.localDo(ctx, http.MethodGet, localBase+repo+"/manifests/"+d.String(), nil, "")
	if err != nil {
		return upstream.Manifest{}, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return upstream.Manifest{}, false, nil
	}
	if resp.StatusCode != http.StatusOK {
		return upstream.Manifest{}, false, localError(resp, "reading manifest "+repo+"@"+d.String())
	}
	body, err := io.ReadAll(resp.Body) // bounded by the registry's manifest limit
	if err != nil {
		return upstream.Manifest{}, false, err
	}
	return upstream.Manifest{Descriptor: upstream.Descriptor{Digest: d, MediaType: resp.Header.Get("Content-Type"),
		Size: int64(len(body))}, Body: body}, true, nil
}

// storeManifest stores m in repo under ref (a tag, or its digest), its
// blobs and children to be fetched when pulled.
func (c *Cache) storeManifest(ctx context.Context, repo, ref string, m upstream.Manifest) error {
	resp, err := c.localDo(registry.AllowSparse(ctx), http.MethodPut, localBase+repo+"/manifests/"+ref,
		bytes.NewReader(m.Body), m.MediaType)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return localError(resp, "storing manifest "+repo+"@"+m.Digest.String())
	}
	c.stats.manifestFills.Add(1)
	return nil
}

// deleteLocalTag removes a tag the upstream no longer has.
func (c *Cache) deleteLocalTag(ctx context.Context, repo, tag string) error {
	resp, err := c.localDo(ctx, http.MethodDelete, localBase+repo+"/manifests/"+tag, nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusNotFound {
		return localError(resp, "removing tag "+repo+":"+tag)
	}
	return nil
}

// storeBlob uploads a complete, verified spool into repo in one request.
func (c *Cache) storeBlob(ctx context.Context, repo string, d digest.Digest, body io.Reader, size int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, localBase+repo+"/blobs/uploads/?digest="+d.String(), io.NopCloser(body))
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Length", strconv.FormatInt(size, 10))
	resp, err := c.local.Do(req)
	if err != nil {
		return fmt.Errorf("proxy: storing blob %s@%s: %w", repo, d, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return localError(resp, "storing blob "+repo+"@"+d.String())
	}
	c.stats.blobFills.Add(1)
	c.stats.blobBytes.Add(size)
	return nil
}

func (c *Cache) localDo(ctx context.Context, method, url string, body io.Reader, contentType string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if method == http.MethodHead || method == http.MethodGet {
		req.Header.Set("Accept", "*/*")
	}
	return c.local.Do(req)
}

// localError is the registry's refusal as a StatusError, so a client sees
// why a fill could not be stored (a quota, an immutable tag).
func localError(resp *http.Response, what string) error {
	var body struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	se := &core.StatusError{Status: resp.StatusCode, Code: "UNKNOWN", Message: fmt.Sprintf("proxy cache: %s: status %d", what, resp.StatusCode)}
	if json.Unmarshal(raw, &body) == nil && len(body.Errors) > 0 {
		se.Code = body.Errors[0].Code
		se.Message = fmt.Sprintf("proxy cache: %s: %s", what, body.Errors[0].Message)
	}
	return se
}
