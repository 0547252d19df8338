package scan

import (
	"context"
	"errors"
	"fmt"
	"github.com/berthlabs/berth/core"
	"time"

	"github.com/berthlabs/berth/project"
)

// CatchUp does what scan-on-push would have done for artifacts pushed
// since since that have no scan (or SBOM) task at all: pushes whose
// hand-off was lost when the process stopped or crashed before it
// queued them. It walks the catalog newest first and stops at since in
// each repository, and returns how many scans and SBOM generations it
// queued. Run it at start, in the background.
func (s *Service) CatchUp(ctx context.Context, since time.Time) (int, error) {
	if s.catalog == nil || s.projects == nil || s.queue == nil {
		return 0, nil
	}
	settings := map[string]*project.Metadata{} // nil: no such project
	queued := 0
	for off := 0; ; off += catalogPage {
		repos, _, err := s.catalog.ListRepositories(ctx, "", core.Page{Offset: off, Limit: catalogPage})
		if err != nil {
			return queued, fmt.Errorf("scan: catching up: %w", err)
		}
		for _, r := range repos {
			md, err := s.projectSettings(ctx, settings, projectOf(r.Name))
			if err != nil {
				return queued, err
			}
			if md == nil || (!md.AutoScan && md.Extra[AutoSBOMKey] != "true") {
				continue
			}
			n, err := s.catchUpRepository(ctx, r.Name, md, since)
			queued += n
			if err != nil {
				return queued, err
			}
		}
		if len(repos) < catalogPage {
			return queued, nil
		}
	}
}

func (s *Service) projectSettings(ctx context.Context, seen map[string]*project.Metadata, name string) (*project.Metadata, error) {
	if md, ok := seen[name]; ok {
		return md, nil
	}
	p, err := s.projects.Get(ctx, name)
	if errors.Is(err, project.ErrNotFound) {
		seen[name] = nil
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("scan: catching up: project %q: %w", name, err)
	}
	seen[name] = &p.Metadata
	return &p.Metadata, nil
}

func (s *Service) catchUpRepository(ctx context.Context, repo string, md *project.Metadata, since time.Time) (int, error) {
	queued := 0
	for off := 0; ; off += catalogPage {
		arts, _, err := s.catalog.ListArtifacts(ctx, repo, core.Page{Offset: off, Limit: catalogPage})
		if err != nil {
			return queued, fmt.Errorf("scan: catching up: %s: %w", repo, err)
		}
		for _, a := range arts {
			if a.PushedAt.Before(since) {
				return queued, nil // newest first: the rest is older
			}
			if a.Subject != "" || !Scannable(a.MediaType, a.ArtifactType) {
				continue
			}
			art := Artifact{Repository: repo, Digest: a.Digest, MediaType: a.MediaType}
			for _, job := range []struct {
				want bool
				kind TaskKind
				run  func(context.Context, Artifact, Trigger) (Task, error)
			}{
				{md.AutoScan, KindVulnerability, s.ScanArtifact},
				{md.Extra[AutoSBOMKey] == "true", KindSBOM, s.GenerateSBOM},
			} {
				if !job.want {
					continue
				}
				if _, ok, err := s.st.latestTask(ctx, a.Digest.String(), job.kind); err != nil {
					return queued, err
				} else if ok {
					continue
				}
				if _, err := job.run(ctx, art, TriggerPush); err != nil {
					s.log.WarnContext(ctx, "scan catch-up", "artifact", repo+"@"+a.Digest.String(), "kind", job.kind, "err", err)
					continue
				}
				queued++
			}
		}
		if len(arts) < catalogPage {
			return queued, nil
		}
	}
}
