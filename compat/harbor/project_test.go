package harbor_test

import (
	"strings"
	"testing"
	"time"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/artifact"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/auditlog"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/project"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProjects(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	id := newProject(t, "compat-projects")
	push(t, "compat-projects", "app", "v1")

	got, err := apiClient.Project.GetProject(ctx, project.NewGetProjectParams().WithProjectNameOrID("compat-projects"))
	require.NoError(t, err)
	p := got.Payload
	assert.Equal(t, id, int64(p.ProjectID))
	assert.Equal(t, "compat-projects", p.Name)
	assert.Equal(t, adminUser, p.OwnerName)
	assert.Equal(t, int64(1), p.RepoCount)
	require.NotNil(t, p.Metadata)
	assert.Equal(t, "false", p.Metadata.Public)
	assert.WithinDuration(t, time.Now(), time.Time(p.CreationTime), time.Minute)
	assert.Contains(t, p.CurrentUserRoleIds, int32(1), "the creator is the project admin")

	// By id, the way go-client users often address projects.
	byID, err := apiClient.Project.GetProject(ctx, project.NewGetProjectParams().
		WithProjectNameOrID(itoa(id)).WithXIsResourceName(ptr(false)))
	require.NoError(t, err)
	assert.Equal(t, "compat-projects", byID.Payload.Name)

	list, err := apiClient.Project.ListProjects(ctx, project.NewListProjectsParams().
		WithName(ptr("compat-projects")).WithPage(ptr(int64(1))).WithPageSize(ptr(int64(10))))
	require.NoError(t, err)
	assert.Equal(t, int64(1), list.XTotalCount)
	require.Len(t, list.Payload, 1)
	assert.Equal(t, "compat-projects", list.Payload[0].Name)
	assert.Equal(t, int64(1), list.Payload[0].RepoCount)

	all, err := apiClient.Project.ListProjects(ctx, project.NewListProjectsParams().WithPageSize(ptr(int64(100))))
	require.NoError(t, err)
	names := map[string]bool{}
	for _, p := range all.Payload {
		names[p.Name] = true
	}
	assert.True(t, names["library"] && names["compat-projects"], "listing: %v", names)
	assert.GreaterOrEqual(t, all.XTotalCount, int64(2))

	page, err := apiClient.Project.ListProjects(ctx, project.NewListProjectsParams().
		WithPage(ptr(int64(1))).WithPageSize(ptr(int64(1))))
	require.NoError(t, err)
	require.Len(t, page.Payload, 1)
	assert.GreaterOrEqual(t, page.XTotalCount, int64(2))
	assert.Contains(t, page.Link, `rel="next"`)

	head, err := apiClient.Project.HeadProject(ctx, project.NewHeadProjectParams().WithProjectName("compat-projects"))
	require.NoError(t, err)
	assert.NotNil(t, head)
}

func TestArtifacts(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	newProject(t, "compat-artifacts")
	before := time.Now()
	img := push(t, "compat-artifacts", "app", "v1")
	want := digestOf(t, img)

	list, err := apiClient.Artifact.ListArtifacts(ctx, artifact.NewListArtifactsParams().
		WithProjectName("compat-artifacts").WithRepositoryName("app").WithWithTag(ptr(true)).WithWithLabel(ptr(true)))
	require.NoError(t, err)
	assert.Equal(t, int64(1), list.XTotalCount)
	require.Len(t, list.Payload, 1)
	a := list.Payload[0]
	assert.Equal(t, want, a.Digest)
	assert.Equal(t, "IMAGE", a.Type)
	assert.Equal(t, "compat-artifacts/app", a.RepositoryName)
	assert.Positive(t, a.Size)
	assert.WithinDuration(t, before, time.Time(a.PushTime), time.Minute)
	require.Len(t, a.Tags, 1)
	assert.Equal(t, "v1", a.Tags[0].Name)
	assert.WithinDuration(t, before, time.Time(a.Tags[0].PushTime), time.Minute)
	assert.Empty(t, a.Labels)
	assert.Equal(t, "application/vnd.docker.distribution.manifest.v2+json", a.ManifestMediaType)
	assert.Equal(t, "application/vnd.docker.container.image.v1+json", a.MediaType, "Harbor: a Docker image's media_type is its config's")
	assert.Positive(t, a.ID)
	assert.Positive(t, a.RepositoryID)
	assert.Positive(t, a.Tags[0].ID)
	assert.Equal(t, a.ID, a.Tags[0].ArtifactID)
	assert.Equal(t, a.RepositoryID, a.Tags[0].RepositoryID)

	tags, err := apiClient.Artifact.ListTags(ctx, artifact.NewListTagsParams().
		WithProjectName("compat-artifacts").WithRepositoryName("app").WithReference(want))
	require.NoError(t, err)
	assert.Equal(t, int64(1), tags.XTotalCount)
	require.Len(t, tags.Payload, 1)
	assert.Equal(t, "v1", tags.Payload[0].Name)
	assert.Equal(t, a.Tags[0].ID, tags.Payload[0].ID)
	assert.WithinDuration(t, before, time.Time(tags.Payload[0].PushTime), time.Minute)

	// Pull it; berth writes pull times every few seconds (10 s by default).
	ref, err := name.NewDigest(registryHost+"/compat-artifacts/app@"+want, name.Insecure)
	require.NoError(t, err)
	_, err = remote.Image(ref, remoteAuth())
	require.NoError(t, err)
	var pulled time.Time
	eventually(t, 20*time.Second, "the artifact's pull_time", func() bool {
		got, err := apiClient.Artifact.GetArtifact(ctx, artifact.NewGetArtifactParams().
			WithProjectName("compat-artifacts").WithRepositoryName("app").WithReference("v1"))
		require.NoError(t, err)
		require.Equal(t, want, got.Payload.Digest)
		require.Len(t, got.Payload.Tags, 1)
		assert.Equal(t, "v1", got.Payload.Tags[0].Name)
		pulled = time.Time(got.Payload.PullTime)
		return pulled.After(before)
	})
	assert.WithinDuration(t, time.Now(), pulled, time.Minute)

	byDigest, err := apiClient.Artifact.GetArtifact(ctx, artifact.NewGetArtifactParams().
		WithProjectName("compat-artifacts").WithRepositoryName("app").WithReference(want).WithWithTag(ptr(false)))
	require.NoError(t, err)
	assert.Equal(t, want, byDigest.Payload.Digest)
	assert.Empty(t, byDigest.Payload.Tags)
}

func TestAuditLogs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	newProject(t, "compat-audit")
	push(t, "compat-audit", "app", "v1")

	var found bool
	var last []*models.AuditLog
	defer func() {
		if !found {
			for _, l := range last {
				t.Logf("audit entry: %+v", *l)
			}
		}
	}()
	eventually(t, 5*time.Second, "the push in the audit log", func() bool {
		logs, err := apiClient.Auditlog.ListAuditLogs(ctx, auditlog.NewListAuditLogsParams().
			WithQ(ptr("resource=~compat-audit")).WithPageSize(ptr(int64(100))))
		require.NoError(t, err)
		for _, l := range logs.Payload {
			assert.Positive(t, l.ID)
			assert.False(t, time.Time(l.OpTime).IsZero())
			// Harbor names a push "create" and its resource repo:tag;
			// berth says "push" and adds the digest (repo:tag@sha256:...).
			if l.Username == adminUser && l.Operation == "push" && l.ResourceType == "artifact" &&
				strings.HasPrefix(l.Resource, "compat-audit/app:v1@sha256:") {
				found = true
			}
		}
		if !found {
			last = logs.Payload
		}
		return found
	})

	all, err := apiClient.Auditlog.ListAuditLogs(ctx, auditlog.NewListAuditLogsParams().WithPageSize(ptr(int64(5))))
	require.NoError(t, err)
	assert.LessOrEqual(t, len(all.Payload), 5)
	assert.GreaterOrEqual(t, all.XTotalCount, int64(len(all.Payload)))
}
