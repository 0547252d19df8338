package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

// A proxy cache project is created by a system administrator over an
// existing registry, shows its registry_id and proxy speed, keeps its
// registry for life, and keeps that registry from being deleted.
func TestProxyCacheProjects(t *testing.T) {
	e := replEnv(t)
	r := e.do(admin(), http.MethodPost, "/registries", api.Registry{Name: "hub", URL: "https://registry-1.docker.io", Type: "docker-hub"})
	r.ok(t, http.StatusCreated, nil)
	regID := r.Header.Get("Location")[strings.LastIndex(r.Header.Get("Location"), "/")+1:]
	var reg api.Registry
	e.do(admin(), http.MethodGet, "/registries/"+regID, nil).ok(t, http.StatusOK, &reg)
	assert.Equal(t, "docker-hub", reg.Type)
	e.do(admin(), http.MethodPost, "/registries", api.Registry{Name: "odd", URL: "https://x.example", Type: "gcr-ish"}).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")
	var types []string
	e.do(admin(), http.MethodGet, "/replication/adapters", nil).ok(t, http.StatusOK, &types)
	assert.Equal(t, []string{"docker-registry", "harbor", "docker-hub"}, types)

	e.do(admin(), http.MethodPost, "/projects", map[string]any{"project_name": "nothere", "registry_id": 999}).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(admin(), http.MethodPost, "/projects", map[string]any{"project_name": "dockerhub", "registry_id": reg.ID,
		"metadata": map[string]string{"proxy_speed_kb": "2048"}}).ok(t, http.StatusCreated, nil)
	var p api.Project
	e.do(admin(), http.MethodGet, "/projects/dockerhub", nil).ok(t, http.StatusOK, &p)
	assert.Equal(t, reg.ID, p.RegistryID)
	require.NotNil(t, p.Metadata.ProxySpeedKB)
	assert.Equal(t, "2048", *p.Metadata.ProxySpeedKB)

	e.do(admin(), http.MethodPut, "/projects/dockerhub", map[string]any{"registry_id": reg.ID + 1}).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(admin(), http.MethodPut, "/projects/dockerhub", map[string]any{"metadata": map[string]string{"proxy_speed_kb": "-1"}}).
		ok(t, http.StatusOK, nil)
	e.do(admin(), http.MethodGet, "/projects/dockerhub", nil).ok(t, http.StatusOK, &p)
	assert.Equal(t, "-1", *p.Metadata.ProxySpeedKB)

	e.do(admin(), http.MethodPost, "/projects", map[string]any{"project_name": "plain"}).ok(t, http.StatusCreated, nil)
	e.do(admin(), http.MethodPut, "/projects/plain", map[string]any{"registry_id": reg.ID}).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")
	var plain api.Project
	e.do(admin(), http.MethodGet, "/projects/plain", nil).ok(t, http.StatusOK, &plain)
	assert.Zero(t, plain.RegistryID)
	assert.Nil(t, plain.Metadata.ProxySpeedKB)
}
