package replicate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
)

// Bounds on listings.
const (
	maxRepositories = 100_000
	maxTags         = 100_000
	maxConfig       = 1 << 20
)

// fallbackTag is the referrers tag schema's tag ("sha256-<hex>"); such
// tags travel with their subject, not as artifacts of their own.
var fallbackTag = regexp.MustCompile(`^sha(256|512)-[0-9a-f]{64,128}$`)

// plan lists the source artifacts the policy selects, one item per
// repository and digest, with the destination names.
func (c *Copier) plan(ctx context.Context, p *Policy) ([]item, error) {
	charts := SelectsCharts(p.Filters)
	out, err := c.planArtifacts(ctx, p)
	if charts && isStatus(err, http.StatusNotFound) {
		// A chart repository without an OCI registry (ChartMuseum).
		out, err = nil, nil
	}
	if err != nil || !charts || !MatchChart(p.Filters) {
		return out, err
	}
	versions, err := c.planCharts(ctx, p)
	return append(out, versions...), err
}

// planArtifacts lists the OCI artifacts the policy selects.
func (c *Copier) planArtifacts(ctx context.Context, p *Policy) ([]item, error) {
	repos, ok := literalNames(p.Filters)
	if !ok {
		all, err := c.src.puller.Catalog(ctx, c.src.reg)
		if err != nil {
			return nil, fmt.Errorf("reading the source's catalog: %w", err)
		}
		if len(all) > maxRepositories {
			return nil, fmt.Errorf("the source lists more than %d repositories", maxRepositories)
		}
		repos = all
	}
	var out []item
	for _, repo := range repos {
		if !MatchRepository(p.Filters, repo) {
			continue
		}
		items, err := c.planRepo(ctx, p, repo)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
	}
	return out, nil
}

func (c *Copier) planRepo(ctx context.Context, p *Policy, repo string) ([]item, error) {
	dst, err := p.Rewrite().Apply(repo)
	if err != nil {
		return nil, err
	}
	r, err := c.src.repo(repo)
	if err != nil {
		return nil, err
	}
	tags, err := c.src.puller.List(ctx, r)
	if err != nil {
		if isStatus(err, http.StatusNotFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing the tags of %s: %w", repo, err)
	}
	if len(tags) > maxTags {
		return nil, fmt.Errorf("%s has more than %d tags", repo, maxTags)
	}
	slices.Sort(tags)
	byDigest := map[digest.Digest]*item{}
	var order []digest.Digest
	verdict := map[digest.Digest]bool{}
	for _, tag := range tags {
		if fallbackTag.MatchString(tag) || !MatchTag(p.Filters, tag) {
			continue
		}
		d, err := c.src.headManifest(ctx, repo, tag)
		if isStatus(err, http.StatusNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		if d.Validate() != nil {
			m, err := c.fetchManifest(ctx, repo, tag)
			if err != nil {
				return nil, err
			}
			d = m.digest
		}
		if NeedsManifest(p.Filters) {
			ok, seen := verdict[d]
			if !seen {
				if ok, err = c.matchArtifact(ctx, p.Filters, repo, d); err != nil {
					return nil, err
				}
				verdict[d] = ok
			}
			if !ok {
				continue
			}
		}
		it := byDigest[d]
		if it == nil {
			it = &item{Op: OpCopy, SrcRepo: repo, DstRepo: dst, Digest: d.String()}
			byDigest[d] = it
			order = append(order, d)
		}
		it.Tags = append(it.Tags, tag)
	}
	out := make([]item, 0, len(order))
	for _, d := range order {
		out = append(out, *byDigest[d])
	}
	return out, nil
}

// matchArtifact applies the label and resource filters to repo@d: its
// annotations, its config's labels and, with WithSourceLabels, the
// registry labels it carries.
func (c *Copier) matchArtifact(ctx context.Context, fs []Filter, repo string, d digest.Digest) (bool, error) {
	m, err := c.fetchManifest(ctx, repo, d.String())
	if err != nil {
		return false, err
	}
	labels := map[string]string{}
	for k, v := range m.parsed.Annotations {
		labels[k] = v
	}
	isImage, artifactType := false, m.parsed.ArtifactType
	switch {
	case m.parsed.Manifests != nil:
		isImage = true
		if artifactType == "" {
			artifactType = m.mediaType
		}
	case m.parsed.Config != nil:
		ct := types.MediaType(m.parsed.Config.MediaType)
		isImage = ct == types.OCIConfigJSON || ct == types.DockerConfigJSON
		if artifactType == "" {
			artifactType = string(ct)
		}
		if isImage && m.parsed.Config.Size <= maxConfig {
			cfg, err := c.readConfig(ctx, repo, m.parsed.Config.Digest)
			if err != nil {
				return false, err
			}
			for k, v := range cfg {
				if _, set := labels[k]; !set {
					labels[k] = v
				}
			}
		}
	}
	var names []string
	if c.srcLabels != nil && matchesNames(fs) {
		if names, err = c.srcLabels.LabelNames(ctx, repo, d); err != nil {
			return false, fmt.Errorf("reading the labels of %s@%s: %w", repo, d, err)
		}
	}
	return MatchLabelledArtifact(fs, labels, names, artifactType, isImage), nil
}

// readConfig reads an image config's labels, verified against d.
func (c *Copier) readConfig(ctx context.Context, repo string, d digest.Digest) (map[string]string, error) {
	rc, err := c.openSource(ctx, repo, d, 0)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxConfig+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxConfig || d.Algorithm().FromBytes(b) != d {
		return nil, fmt.Errorf("config %s@%s: the source sent content that does not match its digest", repo, d)
	}
	var cfg struct {
		Config struct {
			Labels map[string]string `json:"Labels"`
		} `json:"config"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("config %s@%s: %w", repo, d, err)
	}
	return cfg.Config.Labels, nil
}
