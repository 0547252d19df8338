package server

import (
	"context"
	"errors"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/label"
	"github.com/berthlabs/berth/project"
)

// Labels as filters: the adapters through which tag retention's label
// selectors and replication's label filters read the label store.

// retentionLabels gives retention the names of the labels the artifacts
// of a repository carry (retention.ArtifactLabels).
type retentionLabels struct{ s *label.Store }

func (r retentionLabels) LabelNames(ctx context.Context, projectID int64, repo string, digests []digest.Digest) (map[digest.Digest][]string, error) {
	ls, err := r.s.LabelsOfMany(ctx, projectID, repo, digests)
	if err != nil {
		return nil, err
	}
	out := make(map[digest.Digest][]string, len(ls))
	for d, labels := range ls {
		out[d] = labelNames(labels)
	}
	return out, nil
}

// replicationLabels gives replication the names of the labels an artifact
// of the local registry carries (replicate.SourceLabels): the project is
// the repository name's first component, resolved to its id now, so a
// project deleted and re-created under the same name never lends its
// predecessor's labels. A repository outside any project has none.
type replicationLabels struct {
	s        *label.Store
	projects *project.Store
}

func (r replicationLabels) LabelNames(ctx context.Context, repo string, d digest.Digest) ([]string, error) {
	name, _, ok := strings.Cut(repo, "/")
	if !ok || name == "" {
		return nil, nil
	}
	p, err := r.projects.Get(ctx, name)
	if errors.Is(err, project.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ls, err := r.s.LabelsOf(ctx, p.ID, repo, d)
	if err != nil {
		return nil, err
	}
	return labelNames(ls), nil
}

func labelNames(ls []label.Label) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Name
	}
	return out
}
