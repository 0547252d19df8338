package api

import (
	"context"
	"errors"
	"strings"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/scan"
)

// Walking the catalog for the security hub and scan data exports: every
// scannable image (referrers such as signatures and SBOMs are not), by
// repository name, newest first within each repository, with the id of
// its project. The walk pages through the registry and holds one page at
// a time, so its memory does not grow with the registry.

// errStopWalk ends a walk early, without error.
var errStopWalk = errors.New("stop the walk")

// walkPage is how many repositories or artifacts a walk reads at once.
const walkPage = 100

// walkImages calls fn with each scannable image in the repositories under
// prefixes ("" for all of them; "p/" for project p's, a full name for one
// repository and those below it). Repositories outside any project are
// skipped. fn returns errStopWalk to stop.
func (a *API) walkImages(ctx context.Context, prefixes []string, fn func(projectID int64, art registry.Artifact) error) error {
	ids := map[string]int64{} // project name → id; 0: no such project
	for _, prefix := range prefixes {
		err := a.walkPrefix(ctx, prefix, ids, fn)
		if errors.Is(err, errStopWalk) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (a *API) walkPrefix(ctx context.Context, prefix string, ids map[string]int64,
	fn func(projectID int64, art registry.Artifact) error) error {
	for off := 0; ; off += walkPage {
		repos, _, err := a.deps.Registry.ListRepositories(ctx, prefix, core.Page{Offset: off, Limit: walkPage})
		if err != nil {
			return err
		}
		for _, r := range repos {
			pid, err := a.projectIDOf(ctx, r.Name, ids)
			if err != nil {
				return err
			}
			if pid == 0 {
				continue
			}
			if err := a.walkRepository(ctx, pid, r.Name, fn); err != nil {
				return err
			}
		}
		if len(repos) < walkPage {
			return nil
		}
	}
}

func (a *API) walkRepository(ctx context.Context, pid int64, repo string, fn func(projectID int64, art registry.Artifact) error) error {
	for off := 0; ; off += walkPage {
		arts, _, err := a.deps.Registry.ListArtifacts(ctx, repo, core.Page{Offset: off, Limit: walkPage})
		if errors.Is(err, core.ErrNotFound) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return err
		}
		for _, art := range arts {
			if art.Subject != "" || !scan.Scannable(art.MediaType, art.ArtifactType) {
				continue
			}
			if err := fn(pid, art); err != nil {
				return err
			}
		}
		if len(arts) < walkPage {
			return nil
		}
	}
}

// projectIDOf is the id of the project holding repo, 0 when there is none,
// remembered in ids.
func (a *API) projectIDOf(ctx context.Context, repo string, ids map[string]int64) (int64, error) {
	name, _, ok := strings.Cut(repo, "/")
	if !ok {
		return 0, nil
	}
	if id, seen := ids[name]; seen {
		return id, nil
	}
	id, _, err := a.deps.Projects.ProjectID(ctx, name)
	if err != nil {
		return 0, err
	}
	ids[name] = id
	return id, nil
}

// isNotFound tells whether err says something does not exist.
func isNotFound(err error) bool { return errors.Is(err, core.ErrNotFound) }
