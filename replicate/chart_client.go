package replicate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Bounds on what a chart repository may send.
const (
	maxChartArchive = 20 << 20 // as chart.DefaultMaxArchiveSize
	maxChartProv    = 1 << 20
	maxChartListing = 32 << 20
	maxChartNames   = 100_000
	maxChartProjs   = 10_000
)

// chartClient speaks the ChartMuseum API of an endpoint's classic chart
// repositories, laid out as Harbor and berth serve them: the API under
// /api/chartrepo/{project}/ and the files under /chartrepo/{project}/.
// It authenticates with Basic credentials, as those APIs take.
type chartClient struct {
	ep   *Endpoint
	base string // scheme://host[:port]
	hc   *http.Client
}

// chartVersion is what a listing says of one version.
type chartVersion struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Digest  string `json:"digest"` // the archive's sha256, hex
}

func newChartClient(ep *Endpoint) (*chartClient, error) {
	u, err := url.Parse(ep.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%w: endpoint URL %q", ErrInvalid, ep.URL)
	}
	rt := ep.ChartTransport
	if rt == nil {
		rt = ep.Transport
	}
	if rt == nil {
		if rt, err = netTransport(ep); err != nil {
			return nil, err
		}
	}
	return &chartClient{ep: ep, base: u.Scheme + "://" + u.Host,
		hc: &http.Client{Transport: &retryAfter{next: rt, max: 2 * time.Minute, tries: 5}}}, nil
}

func (c *chartClient) do(ctx context.Context, method, path, ctype string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("User-Agent", "berth-replicate")
	if c.ep.Username != "" || c.ep.Password != "" {
		req.SetBasicAuth(c.ep.Username, c.ep.Password)
	}
	return c.hc.Do(req)
}

// get reads path's body, at most limit bytes; a 404 is reported as
// found false.
func (c *chartClient) get(ctx context.Context, path string, limit int64) (body []byte, found bool, err error) {
	resp, err := c.do(ctx, http.MethodGet, path, "", nil)
	if err != nil {
		return nil, false, err
	}
	if resp.StatusCode == http.StatusNotFound {
		resp.Body.Close()
		return nil, false, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, false, unexpected("GET "+path, resp)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, false, fmt.Errorf("GET %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, false, fmt.Errorf("GET %s: the answer is larger than %d bytes", path, limit)
	}
	return b, true, nil
}

// projects lists the endpoint's projects through Harbor's project API,
// unless the endpoint lists its chart projects itself.
func (c *chartClient) projects(ctx context.Context) ([]string, error) {
	if c.ep.ChartProjects != nil {
		return c.ep.ChartProjects(ctx)
	}
	var out []string
	for page := 1; ; page++ {
		b, found, err := c.get(ctx, "/api/v2.0/projects?page_size=100&page="+strconv.Itoa(page), maxChartListing)
		if err != nil || !found {
			return nil, fmt.Errorf("listing the projects of %s (name a project in a name filter for a registry without Harbor's project API): %w", c.ep.URL, err)
		}
		var ps []struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(b, &ps); err != nil {
			return nil, fmt.Errorf("listing the projects of %s: %w", c.ep.URL, err)
		}
		for _, p := range ps {
			out = append(out, p.Name)
		}
		if len(ps) < 100 {
			return out, nil
		}
		if len(out) >= maxChartProjs {
			return nil, fmt.Errorf("%s lists more than %d projects", c.ep.URL, maxChartProjs)
		}
	}
}

// charts lists the names of project's charts; none when the project has
// no chart repository. It reads ChartMuseum's map of names to versions
// and Harbor's list of chart summaries alike.
func (c *chartClient) charts(ctx context.Context, project string) ([]string, error) {
	b, found, err := c.get(ctx, "/api/chartrepo/"+url.PathEscape(project)+"/charts", maxChartListing)
	if err != nil || !found {
		return nil, err
	}
	var names []string
	var byName map[string]json.RawMessage
	var list []struct {
		Name string `json:"name"`
	}
	switch {
	case json.Unmarshal(b, &byName) == nil:
		for n := range byName {
			names = append(names, n)
		}
	case json.Unmarshal(b, &list) == nil:
		for _, e := range list {
			names = append(names, e.Name)
		}
	default:
		return nil, fmt.Errorf("the chart listing of %s is neither ChartMuseum's nor Harbor's", project)
	}
	if len(names) > maxChartNames {
		return nil, fmt.Errorf("%s lists more than %d charts", project, maxChartNames)
	}
	for _, n := range names {
		if !validChartPart(n) {
			return nil, fmt.Errorf("%s lists a chart named %q, which is not a chart name", project, n)
		}
	}
	return names, nil
}

// versions lists the versions of project's chart name; none when it has
// none.
func (c *chartClient) versions(ctx context.Context, project, name string) ([]chartVersion, error) {
	b, found, err := c.get(ctx, "/api/chartrepo/"+url.PathEscape(project)+"/charts/"+url.PathEscape(name), maxChartListing)
	if err != nil || !found {
		return nil, err
	}
	var vs []chartVersion
	if err := json.Unmarshal(b, &vs); err != nil {
		return nil, fmt.Errorf("the versions of %s/%s: %w", project, name, err)
	}
	out := vs[:0]
	for _, v := range vs {
		if v.Name != name || !validChartPart(v.Version) || !validHex(v.Digest) {
			return nil, fmt.Errorf("%s/%s lists a version %q of %q with digest %q: not a chart version", project, name, v.Version, v.Name, v.Digest)
		}
		out = append(out, v)
	}
	return out, nil
}

// file reads project's chart file (name-version.tgz or .tgz.prov),
// at most limit bytes; found is false on 404.
func (c *chartClient) file(ctx context.Context, project, file string, limit int64) ([]byte, bool, error) {
	return c.get(ctx, "/chartrepo/"+url.PathEscape(project)+"/charts/"+url.PathEscape(file), limit)
}

// upload posts a chart archive and its provenance file (nil: none) to
// project, as `helm cm-push` does; force replaces an existing version.
func (c *chartClient) upload(ctx context.Context, project string, archive, prov []byte, file string, force bool) error {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	parts := []struct {
		field string
		data  []byte
		name  string
	}{{"chart", archive, file}, {"prov", prov, file + ".prov"}}
	for _, p := range parts {
		if p.data == nil {
			continue
		}
		w, err := mw.CreateFormFile(p.field, p.name)
		if err != nil {
			return err
		}
		if _, err := w.Write(p.data); err != nil {
			return err
		}
	}
	if err := mw.Close(); err != nil {
		return err
	}
	path := "/api/chartrepo/" + url.PathEscape(project) + "/charts"
	if force {
		path += "?force=true"
	}
	resp, err := c.do(ctx, http.MethodPost, path, mw.FormDataContentType(), buf.Bytes())
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return unexpected("uploading "+file+" to "+project, resp)
	}
	resp.Body.Close()
	return nil
}

// validChartPart accepts a chart name, version or project name that is
// safe in a URL path segment and a file name.
func validChartPart(s string) bool {
	if s == "" || len(s) > 250 || s[0] == '.' || s[0] == '-' {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.+") == ""
}

func validHex(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}
