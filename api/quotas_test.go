package api_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

func TestQuotas(t *testing.T) {
	e := newEnv(t, api.WithDefaultStorageLimit(1<<30))
	e.user("owner", "dev", "stranger")
	e.do(as("owner"), http.MethodPost, "/projects", map[string]any{"project_name": "team"}).ok(t, http.StatusCreated, nil)
	e.do(as("owner"), http.MethodPost, "/projects/team/members", addMember("dev", 2)).ok(t, http.StatusCreated, nil)
	var p api.Project
	e.do(as("owner"), http.MethodGet, "/projects/team", nil).ok(t, http.StatusOK, &p)
	assert.Equal(t, int64(1<<30), p.StorageLimit, "new projects get the default limit")
	e.push("team/app", "v1")

	var q api.Quota
	path := "/quotas/" + strconv.FormatInt(p.ProjectID, 10)
	e.do(as("dev"), http.MethodGet, path, nil).ok(t, http.StatusOK, &q)
	assert.Equal(t, p.ProjectID, q.ID)
	assert.Equal(t, "team", q.Ref.Name)
	assert.Equal(t, 1<<30, q.Hard["storage"])
	assert.Positive(t, q.Used["storage"], "the pushed image counts")
	e.do(as("stranger"), http.MethodGet, path, nil).fails(t, http.StatusForbidden, "FORBIDDEN")

	e.do(as("owner"), http.MethodPut, path, api.QuotaUpdateReq{Hard: map[string]int64{"storage": 100}}).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(admin(), http.MethodPut, path, api.QuotaUpdateReq{Hard: map[string]int64{"storage": 2048}}).ok(t, http.StatusOK, nil)
	e.do(admin(), http.MethodPut, path, api.QuotaUpdateReq{Hard: map[string]int64{"count": 3}}).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	var all []api.Quota
	r := e.do(admin(), http.MethodGet, "/quotas?reference=project&reference_id="+strconv.FormatInt(p.ProjectID, 10), nil)
	r.ok(t, http.StatusOK, &all)
	require.Len(t, all, 1)
	assert.Equal(t, 2048, all[0].Hard["storage"])
	assert.Equal(t, q.Used["storage"], all[0].Used["storage"])
	e.do(as("owner"), http.MethodGet, "/quotas", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
}
