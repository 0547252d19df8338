package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/audit"
)

// Configuration changes through the API leave an entry with their actor;
// reads, connection tests and refused changes do not.
func TestConfigurationChangesAudited(t *testing.T) {
	e := replEnv(t)
	e.user("dev")
	e.project("p", false)
	reg := api.Registry{Name: "peer", URL: e.srv.URL}
	loc := e.do(admin(), http.MethodPost, "/registries", reg)
	loc.ok(t, http.StatusCreated, nil)
	id := strings.TrimPrefix(loc.Header.Get("Location"), api.BasePath+"/registries/")
	e.do(admin(), http.MethodPut, "/registries/"+id, map[string]any{"description": "the peer"}).ok(t, http.StatusOK, nil)
	e.do(admin(), http.MethodGet, "/registries", nil).ok(t, http.StatusOK, nil)
	e.do(admin(), http.MethodPost, "/registries/ping", api.RegistryPing{URL: "http://127.0.0.1:1"})
	e.do(as("dev"), http.MethodPost, "/registries", api.Registry{Name: "mine", URL: e.srv.URL}).fails(t, http.StatusForbidden, "FORBIDDEN")

	es, _, err := e.audit.Query(t.Context(), audit.Filter{ResourceType: "registry"}, audit.Page{})
	require.NoError(t, err)
	require.Len(t, es, 2)
	assert.Equal(t, "updateRegistry", es[0].Action)
	assert.Equal(t, "/registries/"+id, es[0].Resource)
	assert.Equal(t, "admin", es[0].Actor)
	assert.Equal(t, "createRegistry", es[1].Action)
	assert.Equal(t, "created /registries/"+id, es[1].Detail)
}
