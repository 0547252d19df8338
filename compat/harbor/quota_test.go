package harbor_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/quota"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuotas(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	id := newProject(t, "compat-quota")
	push(t, "compat-quota", "app", "v1")

	list, err := apiClient.Quota.ListQuotas(ctx, quota.NewListQuotasParams().
		WithReference(ptr("project")).WithReferenceID(ptr(itoa(id))))
	require.NoError(t, err)
	assert.Equal(t, int64(1), list.XTotalCount)
	require.Len(t, list.Payload, 1)
	q := list.Payload[0]
	assert.Equal(t, id, q.ID)
	assert.Equal(t, int64(-1), q.Hard["storage"], "no limit")
	assert.Positive(t, q.Used["storage"], "the pushed image counts")
	ref, ok := q.Ref.(map[string]any)
	require.True(t, ok, "ref: %#v", q.Ref)
	assert.Equal(t, "compat-quota", ref["name"])
	assert.Equal(t, adminUser, ref["owner_name"])
	assert.Equal(t, json.Number(itoa(id)), ref["id"], "go-openapi decodes numbers as json.Number")

	const limit = int64(50 << 20)
	_, err = apiClient.Quota.UpdateQuota(ctx, quota.NewUpdateQuotaParams().WithID(id).
		WithHard(&models.QuotaUpdateReq{Hard: models.ResourceList{"storage": limit}}))
	require.NoError(t, err)

	got, err := apiClient.Quota.GetQuota(ctx, quota.NewGetQuotaParams().WithID(id))
	require.NoError(t, err)
	assert.Equal(t, id, got.Payload.ID)
	assert.Equal(t, limit, got.Payload.Hard["storage"])
	assert.Equal(t, q.Used["storage"], got.Payload.Used["storage"])
	assert.WithinDuration(t, time.Now(), time.Time(got.Payload.UpdateTime), time.Minute)
	assert.False(t, time.Time(got.Payload.CreationTime).After(time.Time(got.Payload.UpdateTime)))

	all, err := apiClient.Quota.ListQuotas(ctx, quota.NewListQuotasParams().WithPageSize(ptr(int64(100))))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, all.XTotalCount, int64(2), "library and compat-quota at least")
	var seen bool
	for _, q := range all.Payload {
		if q.ID == id {
			seen = true
			assert.Equal(t, limit, q.Hard["storage"])
		}
	}
	assert.True(t, seen)

	_, err = apiClient.Quota.GetQuota(ctx, quota.NewGetQuotaParams().WithID(id+100000))
	var nf *quota.GetQuotaNotFound
	assert.ErrorAs(t, err, &nf)
}
