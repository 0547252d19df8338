package harbor_test

import (
	"context"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/project"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/project_metadata"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/quota"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

// projectCalls: the project, projectMetadata and quota tags.
func projectCalls() map[string]sdkCall {
	return map[string]sdkCall{
		"createProject": func(ctx context.Context, f *fixture) error {
			created, err := f.c.Project.CreateProject(ctx, project.NewCreateProjectParams().
				WithProject(&models.ProjectReq{ProjectName: f.unique("sdk-create"), Public: ptr(true)}))
			if err != nil {
				return err
			}
			_, err = idFrom(created.Location)
			return err
		},
		"getProject": func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			got, err := f.c.Project.GetProject(ctx, project.NewGetProjectParams().WithProjectNameOrID(p.ref()))
			if err == nil && got.Payload.Name != p.name {
				return checkf("project %d is %q, want %q", p.id, got.Payload.Name, p.name)
			}
			return err
		},
		"headProject": func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Project.HeadProject(ctx, project.NewHeadProjectParams().WithProjectName(p.name))
			return err
		},
		"listProjects": func(ctx context.Context, f *fixture) error {
			if _, err := f.project(ctx); err != nil {
				return err
			}
			list, err := f.c.Project.ListProjects(ctx, project.NewListProjectsParams().WithWithDetail(ptr(true)))
			if err == nil && len(list.Payload) == 0 {
				return checkf("no project listed")
			}
			return err
		},
		"updateProject": func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Project.UpdateProject(ctx, project.NewUpdateProjectParams().WithProjectNameOrID(p.ref()).
				WithProject(&models.ProjectReq{Metadata: &models.ProjectMetadata{AutoScan: ptr("false")}}))
			return err
		},
		"deleteProject": func(ctx context.Context, f *fixture) error {
			p, err := f.createProject(ctx, f.unique("sdk-delete"))
			if err != nil {
				return err
			}
			_, err = f.c.Project.DeleteProject(ctx, project.NewDeleteProjectParams().WithProjectNameOrID(p.ref()))
			return err
		},
		"getLogs": func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Project.GetLogs(ctx, project.NewGetLogsParams().WithProjectName(p.name))
			return err
		},
		"getLogExts": func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Project.GetLogExts(ctx, project.NewGetLogExtsParams().WithProjectName(p.name))
			return err
		},
		"getProjectDeletable": func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Project.GetProjectDeletable(ctx, project.NewGetProjectDeletableParams().WithProjectNameOrID(p.ref()))
			return err
		},
		"getProjectSummary": func(ctx context.Context, f *fixture) error {
			p, _, err := f.image(ctx)
			if err != nil {
				return err
			}
			got, err := f.c.Project.GetProjectSummary(ctx, project.NewGetProjectSummaryParams().WithProjectNameOrID(p.ref()))
			if err == nil && got.Payload.RepoCount < 1 {
				return checkf("summary repo_count %d, want >= 1", got.Payload.RepoCount)
			}
			return err
		},
		"listArtifactsOfProject": func(ctx context.Context, f *fixture) error {
			p, _, err := f.image(ctx)
			if err != nil {
				return err
			}
			got, err := f.c.Project.ListArtifactsOfProject(ctx, project.NewListArtifactsOfProjectParams().
				WithProjectNameOrID(p.ref()).WithWithTag(ptr(true)))
			if err == nil && len(got.Payload) == 0 {
				return checkf("no artifact listed")
			}
			return err
		},
		"getScannerOfProject": func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Project.GetScannerOfProject(ctx, project.NewGetScannerOfProjectParams().WithProjectNameOrID(p.ref()))
			return err
		},
		"setScannerOfProject": func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			uuid, err := f.defaultScanner(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Project.SetScannerOfProject(ctx, project.NewSetScannerOfProjectParams().WithProjectNameOrID(p.ref()).
				WithPayload(&models.ProjectScanner{UUID: &uuid}))
			return err
		},
		"listScannerCandidatesOfProject": func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Project.ListScannerCandidatesOfProject(ctx, project.NewListScannerCandidatesOfProjectParams().
				WithProjectNameOrID(p.ref()))
			return err
		},

		"listProjectMetadatas": func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.ProjectMetadata.ListProjectMetadatas(ctx, project_metadata.NewListProjectMetadatasParams().
				WithProjectNameOrID(p.ref()))
			return err
		},
		"addProjectMetadatas": func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.ProjectMetadata.AddProjectMetadatas(ctx, project_metadata.NewAddProjectMetadatasParams().
				WithProjectNameOrID(p.ref()).WithMetadata(map[string]string{"severity": "high"}))
			return err
		},
		"getProjectMetadata": func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.ProjectMetadata.GetProjectMetadata(ctx, project_metadata.NewGetProjectMetadataParams().
				WithProjectNameOrID(p.ref()).WithMetaName("public"))
			return err
		},
		"updateProjectMetadata": func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.ProjectMetadata.UpdateProjectMetadata(ctx, project_metadata.NewUpdateProjectMetadataParams().
				WithProjectNameOrID(p.ref()).WithMetaName("prevent_vul").WithMetadata(map[string]string{"prevent_vul": "false"}))
			return err
		},
		"deleteProjectMetadata": func(ctx context.Context, f *fixture) error {
			p, err := f.createProject(ctx, f.unique("sdk-metadata"))
			if err != nil {
				return err
			}
			_, err = f.c.ProjectMetadata.AddProjectMetadatas(ctx, project_metadata.NewAddProjectMetadatasParams().
				WithProjectNameOrID(p.ref()).WithMetadata(map[string]string{"auto_scan": "true"}))
			if err != nil {
				return setup("addProjectMetadatas", err)
			}
			_, err = f.c.ProjectMetadata.DeleteProjectMetadata(ctx, project_metadata.NewDeleteProjectMetadataParams().
				WithProjectNameOrID(p.ref()).WithMetaName("auto_scan"))
			return err
		},

		"listQuotas": func(ctx context.Context, f *fixture) error {
			_, err := f.quota(ctx)
			return err
		},
		"getQuota": func(ctx context.Context, f *fixture) error {
			id, err := f.quota(ctx)
			if err != nil {
				return setup("listQuotas", err)
			}
			_, err = f.c.Quota.GetQuota(ctx, quota.NewGetQuotaParams().WithID(id))
			return err
		},
		"updateQuota": func(ctx context.Context, f *fixture) error {
			id, err := f.quota(ctx)
			if err != nil {
				return setup("listQuotas", err)
			}
			_, err = f.c.Quota.UpdateQuota(ctx, quota.NewUpdateQuotaParams().WithID(id).
				WithHard(&models.QuotaUpdateReq{Hard: models.ResourceList{"storage": 1 << 30}}))
			return err
		},
	}
}

// quota is the id of project()'s quota, found by listing quotas by the
// project's id as Harbor's reference_id.
func (f *fixture) quota(ctx context.Context) (int64, error) {
	p, err := f.project(ctx)
	if err != nil {
		return 0, err
	}
	list, err := f.c.Quota.ListQuotas(ctx, quota.NewListQuotasParams().
		WithReference(ptr("project")).WithReferenceID(ptr(p.ref())))
	if err != nil {
		return 0, err
	}
	if len(list.Payload) != 1 || list.Payload[0].ID <= 0 {
		return 0, checkf("quotas of project %d: %d, want one with an id", p.id, len(list.Payload))
	}
	return list.Payload[0].ID, nil
}
