package replicate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// planCharts lists the chart versions of the source's classic chart
// repositories that the policy selects: one item per version, named
// project/chart, with the version as its tag and the archive's digest.
func (c *Copier) planCharts(ctx context.Context, p *Policy) ([]item, error) {
	projects, ok := chartProjects(p.Filters)
	if !ok {
		var err error
		if projects, err = c.srcCharts.projects(ctx); err != nil {
			return nil, err
		}
	}
	var out []item
	for _, proj := range projects {
		if !validChartPart(proj) {
			return nil, fmt.Errorf("%q is not a project name", proj)
		}
		names, err := c.srcCharts.charts(ctx, proj)
		if err != nil {
			return nil, fmt.Errorf("listing the charts of %s: %w", proj, err)
		}
		slices.Sort(names)
		for _, name := range names {
			repo := proj + "/" + name
			if !MatchRepository(p.Filters, repo) {
				continue
			}
			vs, err := c.srcCharts.versions(ctx, proj, name)
			if err != nil {
				return nil, fmt.Errorf("listing the versions of %s: %w", repo, err)
			}
			dst, err := p.Rewrite().Apply(repo)
			if err != nil {
				return nil, err
			}
			for _, v := range vs {
				if !MatchTag(p.Filters, v.Version) {
					continue
				}
				out = append(out, item{Op: OpCopy, Kind: ResourceChart, SrcRepo: repo, DstRepo: dst,
					Tags: []string{v.Version}, Digest: "sha256:" + v.Digest})
			}
		}
	}
	return out, nil
}

// chartProjects returns the projects the "matches" name filters name
// when each begins with a literal project ("library/*", "team/app");
// ok is false when one does not, or there is none.
func chartProjects(fs []Filter) (projects []string, ok bool) {
	for _, f := range fs {
		if f.Type != FilterName || f.excludes() {
			continue
		}
		proj, _, found := strings.Cut(f.Value, "/")
		if !found || strings.ContainsAny(proj, "*?{}[]\\") {
			return nil, false
		}
		if !slices.Contains(projects, proj) {
			projects = append(projects, proj)
		}
	}
	return projects, len(projects) > 0
}

// splitChart splits project/chart.
func splitChart(repo string) (project, name string, err error) {
	project, name, ok := strings.Cut(repo, "/")
	if !ok || !validChartPart(project) || !validChartPart(name) {
		return "", "", fmt.Errorf("%w: %q is not project/chart (a chart repository has one level; "+
			"check the policy's destination namespace)", ErrInvalid, repo)
	}
	return project, name, nil
}

// copyChart copies one chart version (archive and .prov) from the
// source's chart repository to the destination's. A version the
// destination holds with the same digest is skipped; one with another
// digest is replaced only with override, and otherwise fails the task.
func (c *Copier) copyChart(ctx context.Context, logf func(string, ...any), it item, override bool) (Result, error) {
	srcProj, name, err := splitChart(it.SrcRepo)
	if err != nil {
		return Result{}, err
	}
	dstProj, dstName, err := splitChart(it.DstRepo)
	if err != nil {
		return Result{}, err
	}
	if dstName != name {
		return Result{}, fmt.Errorf("%w: a chart keeps its name: %s cannot become %s", ErrInvalid, it.SrcRepo, it.DstRepo)
	}
	if len(it.Tags) != 1 {
		return Result{}, fmt.Errorf("%w: a chart task names one version", ErrInvalid)
	}
	version, want := it.Tags[0], strings.TrimPrefix(it.Digest, "sha256:")
	file := name + "-" + version + ".tgz"
	res := Result{Digest: it.Digest}
	have, err := c.dstCharts.versions(ctx, dstProj, name)
	if err != nil {
		return res, fmt.Errorf("reading the destination's versions of %s: %w", it.DstRepo, err)
	}
	replace := false
	for _, v := range have {
		if v.Version != version {
			continue
		}
		if v.Digest == want {
			logf("%s %s is already at the destination with digest sha256:%s: skipped", it.DstRepo, version, want)
			res.Skipped = true
			return res, nil
		}
		if !override {
			logf("%s %s is at the destination with another digest (sha256:%s, the source's is sha256:%s); kept (override is off)",
				it.DstRepo, version, v.Digest, want)
			return res, &statusError{op: "copying " + it.SrcRepo + " " + version, status: http.StatusConflict,
				body: "the destination holds another archive under this version"}
		}
		replace = true
	}
	archive, found, err := c.srcCharts.file(ctx, srcProj, file, maxChartArchive)
	if err == nil && !found {
		err = &statusError{op: "downloading " + file + " from " + srcProj, status: http.StatusNotFound, body: "the source no longer has it"}
	}
	if err != nil {
		return res, err
	}
	sum := sha256.Sum256(archive)
	if got := hex.EncodeToString(sum[:]); got != want {
		return res, fmt.Errorf("%s from %s: the source sent an archive with digest sha256:%s, its listing says sha256:%s", file, srcProj, got, want)
	}
	prov, found, err := c.srcCharts.file(ctx, srcProj, file+".prov", maxChartProv)
	if err != nil {
		return res, fmt.Errorf("downloading %s.prov: %w", file, err)
	}
	if !found {
		prov = nil
	}
	if err := c.dstCharts.upload(ctx, dstProj, archive, prov, file, replace); err != nil {
		return res, err
	}
	res.Bytes = int64(len(archive) + len(prov))
	res.BlobsCopied = 1
	if prov != nil {
		res.BlobsCopied++
	}
	verb := "copied"
	if replace {
		verb = "replaced (override is on)"
	}
	logf("%s %s %s to %s (%d bytes, provenance file: %t)", verb, it.SrcRepo, version, it.DstRepo, res.Bytes, prov != nil)
	return res, nil
}
