package harbor_test

import (
	"context"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/artifact"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/label"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/repository"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

const vulnReportMIME = "application/vnd.security.vulnerability.report; version=1.1"

// repositoryCalls: the repository tag.
func repositoryCalls() map[string]sdkCall {
	return map[string]sdkCall{
		"listRepositories": func(ctx context.Context, f *fixture) error {
			p, _, err := f.image(ctx)
			if err != nil {
				return err
			}
			got, err := f.c.Repository.ListRepositories(ctx, repository.NewListRepositoriesParams().WithProjectName(p.name))
			if err == nil && (len(got.Payload) == 0 || got.Payload[0].ID <= 0) {
				return checkf("want a repository with an id, got %d repositories", len(got.Payload))
			}
			return err
		},
		"listAllRepositories": func(ctx context.Context, f *fixture) error {
			if _, _, err := f.image(ctx); err != nil {
				return err
			}
			_, err := f.c.Repository.ListAllRepositories(ctx, repository.NewListAllRepositoriesParams())
			return err
		},
		"getRepository": func(ctx context.Context, f *fixture) error {
			p, _, err := f.image(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Repository.GetRepository(ctx, repository.NewGetRepositoryParams().WithProjectName(p.name).
				WithRepositoryName("app"))
			return err
		},
		"updateRepository": func(ctx context.Context, f *fixture) error {
			p, _, err := f.image(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Repository.UpdateRepository(ctx, repository.NewUpdateRepositoryParams().WithProjectName(p.name).
				WithRepositoryName("app").WithRepository(&models.Repository{Description: "the app"}))
			return err
		},
		"deleteRepository": func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			if _, err := f.pushImage(ctx, p.name, "doomed", "v1"); err != nil {
				return err
			}
			_, err = f.c.Repository.DeleteRepository(ctx, repository.NewDeleteRepositoryParams().WithProjectName(p.name).
				WithRepositoryName("doomed"))
			return err
		},
	}
}

// artifactCalls: the artifact and label tags.
func artifactCalls() map[string]sdkCall {
	return map[string]sdkCall{
		"listArtifacts": func(ctx context.Context, f *fixture) error {
			p, d, err := f.image(ctx)
			if err != nil {
				return err
			}
			got, err := f.c.Artifact.ListArtifacts(ctx, artifact.NewListArtifactsParams().WithProjectName(p.name).
				WithRepositoryName("app").WithWithTag(ptr(true)).WithWithLabel(ptr(true)).WithWithScanOverview(ptr(true)).
				WithWithImmutableStatus(ptr(true)).WithWithAccessory(ptr(true)).WithWithSbomOverview(ptr(true)))
			if err == nil && (len(got.Payload) != 1 || got.Payload[0].Digest != d) {
				return checkf("want the one artifact %s, got %d", d, len(got.Payload))
			}
			return err
		},
		"getArtifact": func(ctx context.Context, f *fixture) error {
			p, d, err := f.image(ctx)
			if err != nil {
				return err
			}
			got, err := f.c.Artifact.GetArtifact(ctx, artifact.NewGetArtifactParams().WithProjectName(p.name).
				WithRepositoryName("app").WithReference(d).WithWithTag(ptr(true)).WithWithScanOverview(ptr(true)).
				WithWithSignature(ptr(true)).WithWithLabel(ptr(true)))
			if err == nil && got.Payload.ID <= 0 {
				return checkf("artifact %s has no id", d)
			}
			return err
		},
		"deleteArtifact": func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			d, err := f.pushImage(ctx, p.name, "deleted", "v1")
			if err != nil {
				return err
			}
			_, err = f.c.Artifact.DeleteArtifact(ctx, artifact.NewDeleteArtifactParams().WithProjectName(p.name).
				WithRepositoryName("deleted").WithReference(d))
			return err
		},
		"CopyArtifact": func(ctx context.Context, f *fixture) error {
			p, d, err := f.image(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Artifact.CopyArtifact(ctx, artifact.NewCopyArtifactParams().WithProjectName(p.name).
				WithRepositoryName("copy").WithFrom(p.name+"/app@"+d))
			return err
		},
		"listTags": func(ctx context.Context, f *fixture) error {
			p, d, err := f.image(ctx)
			if err != nil {
				return err
			}
			got, err := f.c.Artifact.ListTags(ctx, artifact.NewListTagsParams().WithProjectName(p.name).
				WithRepositoryName("app").WithReference(d).WithWithImmutableStatus(ptr(true)))
			if err == nil && (len(got.Payload) == 0 || got.Payload[0].ID <= 0) {
				return checkf("want tags with ids, got %d tags", len(got.Payload))
			}
			return err
		},
		"createTag": func(ctx context.Context, f *fixture) error {
			p, d, err := f.image(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Artifact.CreateTag(ctx, artifact.NewCreateTagParams().WithProjectName(p.name).
				WithRepositoryName("app").WithReference(d).WithTag(&models.Tag{Name: f.unique("extra")}))
			return err
		},
		"deleteTag": func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			d, err := f.pushImage(ctx, p.name, "untagged", "gone")
			if err != nil {
				return err
			}
			_, err = f.c.Artifact.DeleteTag(ctx, artifact.NewDeleteTagParams().WithProjectName(p.name).
				WithRepositoryName("untagged").WithReference(d).WithTagName("gone"))
			return err
		},
		"listAccessories": func(ctx context.Context, f *fixture) error {
			p, d, err := f.image(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Artifact.ListAccessories(ctx, artifact.NewListAccessoriesParams().WithProjectName(p.name).
				WithRepositoryName("app").WithReference(d))
			return err
		},
		"getAddition": func(ctx context.Context, f *fixture) error {
			p, d, err := f.image(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Artifact.GetAddition(ctx, artifact.NewGetAdditionParams().WithProjectName(p.name).
				WithRepositoryName("app").WithReference(d).WithAddition("build_history"))
			return err
		},
		"getVulnerabilitiesAddition": func(ctx context.Context, f *fixture) error {
			p, d, err := f.scannedImage(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Artifact.GetVulnerabilitiesAddition(ctx, artifact.NewGetVulnerabilitiesAdditionParams().
				WithProjectName(p.name).WithRepositoryName("app").WithReference(d).WithXAcceptVulnerabilities(ptr(vulnReportMIME)))
			return err
		},
		"addLabel": func(ctx context.Context, f *fixture) error {
			p, d, err := f.image(ctx)
			if err != nil {
				return err
			}
			id, err := f.label(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Artifact.AddLabel(ctx, artifact.NewAddLabelParams().WithProjectName(p.name).
				WithRepositoryName("app").WithReference(d).WithLabel(&models.Label{ID: id}))
			return err
		},
		"removeLabel": func(ctx context.Context, f *fixture) error {
			p, d, err := f.image(ctx)
			if err != nil {
				return err
			}
			id, err := f.newLabel(ctx)
			if err != nil {
				return err
			}
			if _, err := f.c.Artifact.AddLabel(ctx, artifact.NewAddLabelParams().WithProjectName(p.name).
				WithRepositoryName("app").WithReference(d).WithLabel(&models.Label{ID: id})); err != nil {
				return setup("addLabel", err)
			}
			_, err = f.c.Artifact.RemoveLabel(ctx, artifact.NewRemoveLabelParams().WithProjectName(p.name).
				WithRepositoryName("app").WithReference(d).WithLabelID(id))
			return err
		},

		"CreateLabel": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Label.CreateLabel(ctx, label.NewCreateLabelParams().
				WithLabel(&models.Label{Name: f.unique("sdk-created"), Color: "#00ff00", Scope: "g"}))
			return err
		},
		"GetLabelByID": func(ctx context.Context, f *fixture) error {
			id, err := f.label(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Label.GetLabelByID(ctx, label.NewGetLabelByIDParams().WithLabelID(id))
			return err
		},
		"ListLabels": func(ctx context.Context, f *fixture) error {
			if _, err := f.label(ctx); err != nil {
				return err
			}
			got, err := f.c.Label.ListLabels(ctx, label.NewListLabelsParams().WithScope(ptr("g")))
			if err == nil && len(got.Payload) == 0 {
				return checkf("no global label listed")
			}
			return err
		},
		"UpdateLabel": func(ctx context.Context, f *fixture) error {
			id, err := f.label(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Label.UpdateLabel(ctx, label.NewUpdateLabelParams().WithLabelID(id).
				WithLabel(&models.Label{Name: "sdk-label", Description: "updated", Color: "#0000ff", Scope: "g"}))
			return err
		},
		"DeleteLabel": func(ctx context.Context, f *fixture) error {
			id, err := f.newLabel(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Label.DeleteLabel(ctx, label.NewDeleteLabelParams().WithLabelID(id))
			return err
		},
	}
}

// newLabel creates a global label and returns its id.
func (f *fixture) newLabel(ctx context.Context) (int64, error) {
	created, err := f.c.Label.CreateLabel(ctx, label.NewCreateLabelParams().
		WithLabel(&models.Label{Name: f.unique("sdk-label"), Color: "#ff0000", Scope: "g"}))
	if err != nil {
		return 0, setup("CreateLabel", err)
	}
	id, err := idFrom(created.Location)
	return id, setup("CreateLabel", err)
}

// label is a global label made once.
func (f *fixture) label(ctx context.Context) (int64, error) {
	return once(ctx, f, "label", f.newLabel)
}
