package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

func TestRegistryInfoAPI(t *testing.T) {
	e := replEnv(t)
	e.user("dev")
	r := e.do(admin(), http.MethodPost, "/registries", api.Registry{Name: "hub", Type: "docker-hub", URL: e.srv.URL,
		Description: "the hub"})
	r.ok(t, http.StatusCreated, nil)
	path := strings.TrimPrefix(r.Header.Get("Location"), api.BasePath) + "/info"

	var info api.RegistryInfo
	e.do(admin(), http.MethodGet, path, nil).ok(t, http.StatusOK, &info)
	assert.Equal(t, "docker-hub", info.Type)
	assert.Equal(t, "the hub", info.Description)
	assert.Equal(t, []string{"manual", "scheduled", "event_based"}, info.SupportedTriggers)
	var types []string
	for _, f := range info.SupportedResourceFilters {
		types = append(types, f.Type)
	}
	assert.Equal(t, []string{"name", "tag", "label", "resource"}, types)
	e.do(admin(), http.MethodGet, "/registries/0/info", nil).ok(t, http.StatusOK, &info)
	assert.Equal(t, "harbor", info.Type)

	e.do(as("dev"), http.MethodGet, path, nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(anonymous, http.MethodGet, path, nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	e.do(admin(), http.MethodGet, "/registries/999/info", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(admin(), http.MethodGet, "/registries/x/info", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
}

func TestRegistryProviderInfosAPI(t *testing.T) {
	e := replEnv(t)
	e.user("dev")
	var infos map[string]api.RegistryProviderInfo
	e.do(admin(), http.MethodGet, "/replication/adapterinfos", nil).ok(t, http.StatusOK, &infos)
	require.Contains(t, infos, "docker-hub")
	require.Contains(t, infos, "docker-registry")
	require.Contains(t, infos, "harbor")
	hub := infos["docker-hub"]
	require.NotNil(t, hub.EndpointPattern)
	assert.Equal(t, "EndpointPatternTypeFix", hub.EndpointPattern.EndpointType)
	assert.Equal(t, []api.RegistryEndpoint{{Key: "hub.docker.com", Value: "https://hub.docker.com"}}, hub.EndpointPattern.Endpoints)
	assert.Equal(t, "EndpointPatternTypeStandard", infos["harbor"].EndpointPattern.EndpointType)
	assert.Equal(t, "AccessSecretTypePass", infos["harbor"].CredentialPattern.AccessSecretType)

	e.do(as("dev"), http.MethodGet, "/replication/adapterinfos", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(admin(), http.MethodDelete, "/replication/adapterinfos", nil).fails(t, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
}
