package registry

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// pageParams reads n and last. n is clamped to the maximum page size; the
// Link header then tells the client there is more.
func (rg *Registry) pageParams(q url.Values) (n int, last string, err error) {
	n = DefaultPageSize
	if s := q.Get("n"); s != "" {
		v, perr := strconv.Atoi(s)
		if perr != nil || v < 0 {
			return 0, "", newError(http.StatusBadRequest, CodePaginationInvalid, fmt.Sprintf("n must be a non-negative integer, got %q", truncate(s)))
		}
		n = v
	}
	return min(n, rg.maxPageSize), q.Get("last"), nil
}

func writeJSON(w http.ResponseWriter, r *http.Request, contentType string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
	return nil
}

// setNextLink adds an RFC 5988 Link to the next page when the page is full.
func setNextLink(w http.ResponseWriter, path string, page []string, n int) {
	if n == 0 || len(page) < n {
		return
	}
	q := url.Values{"n": {strconv.Itoa(n)}, "last": {page[len(page)-1]}}
	w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, path, q.Encode()))
}

func (rg *Registry) tags(w http.ResponseWriter, r *http.Request, rt route) error {
	n, last, err := rg.pageParams(r.URL.Query())
	if err != nil {
		return err
	}
	ok, err := rg.meta.repoExists(r.Context(), rt.name)
	if err != nil {
		return err
	}
	if !ok {
		return newError(http.StatusNotFound, CodeNameUnknown, fmt.Sprintf("repository %s not found", rt.name))
	}
	tags := []string{}
	if n > 0 {
		page, err := rg.meta.tags(r.Context(), rt.name, last, n)
		if err != nil {
			return err
		}
		tags = append(tags, page...)
	}
	setNextLink(w, "/v2/"+rt.name+"/tags/list", tags, n)
	return writeJSON(w, r, "application/json", map[string]any{"name": rt.name, "tags": tags})
}

func (rg *Registry) catalog(w http.ResponseWriter, r *http.Request, _ route) error {
	n, last, err := rg.pageParams(r.URL.Query())
	if err != nil {
		return err
	}
	repos := []string{}
	if n > 0 {
		page, err := rg.meta.repositories(r.Context(), last, n)
		if err != nil {
			return err
		}
		repos = append(repos, page...)
	}
	setNextLink(w, "/v2/_catalog", repos, n)
	return writeJSON(w, r, "application/json", map[string]any{"repositories": repos})
}

// referrers answers with an image index of the manifests whose subject is
// the digest, also when the subject itself was never pushed. A long list
// comes in pages of the maximum page size, linked by a Link header.
func (rg *Registry) referrers(w http.ResponseWriter, r *http.Request, rt route) error {
	d, err := ParseDigest(rt.ref)
	if err != nil {
		return digestInvalid(rt.ref, err)
	}
	q := r.URL.Query()
	at := q.Get("artifactType")
	if q.Get("last") == "" {
		rg.refreshReferrers(w, r, rt.name, d)
	}
	n := rg.maxPageSize
	rows, err := rg.meta.referrers(r.Context(), rt.name, d, at, q.Get("last"), n)
	if err != nil {
		return err
	}
	if len(rows) == n {
		next := url.Values{"last": {rows[n-1].Digest.String()}}
		if at != "" {
			next.Set("artifactType", at)
		}
		w.Header().Set("Link", fmt.Sprintf(`</v2/%s/referrers/%s?%s>; rel="next"`, rt.name, d, next.Encode()))
	}
	idx := v1.Index{MediaType: v1.MediaTypeImageIndex, Manifests: make([]v1.Descriptor, 0, len(rows))}
	idx.SchemaVersion = 2
	for _, mr := range rows {
		desc := v1.Descriptor{MediaType: mr.MediaType, Digest: mr.Digest, Size: mr.Size, ArtifactType: mr.ArtifactType}
		if mr.Annotations != "" {
			if err := json.Unmarshal([]byte(mr.Annotations), &desc.Annotations); err != nil {
				return fmt.Errorf("annotations of %s: %w", mr.Digest, err)
			}
		}
		idx.Manifests = append(idx.Manifests, desc)
	}
	if at != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	return writeJSON(w, r, v1.MediaTypeImageIndex, idx)
}
