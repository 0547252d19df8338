package main

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

// chart_count counts the classic chart repository's charts (names, not
// versions) in the project and in its summary; a project holding charts
// is not deletable, and _deletable says why.
func TestProjectChartCount(t *testing.T) {
	a := startAuthApp(t)
	e2eCreateProject(t, a, "helm", false)
	for _, c := range [][2]string{{"web", "1.0.0"}, {"web", "1.1.0"}, {"api", "0.1.0"}} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, a.srv.URL+"/api/chartrepo/helm/charts",
			bytes.NewReader(chartArchive(t, c[0], c[1])))
		require.NoError(t, err)
		req.SetBasicAuth("admin", e2eAdminPassword)
		resp, err := a.srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusCreated, resp.StatusCode)
	}

	p := e2eJSON[api.Project](t, e2eAdmin(t, a, http.MethodGet, "/projects/helm", nil, http.StatusOK))
	assert.Equal(t, 2, p.ChartCount)
	s := e2eJSON[api.ProjectSummary](t, e2eAdmin(t, a, http.MethodGet, "/projects/helm/summary", nil, http.StatusOK))
	assert.Equal(t, int64(2), s.ChartCount)
	assert.Equal(t, int64(1), s.ProjectAdminCount, "the creator")

	d := e2eJSON[api.ProjectDeletable](t, e2eAdmin(t, a, http.MethodGet, "/projects/helm/_deletable", nil, http.StatusOK))
	assert.False(t, d.Deletable)
	assert.Contains(t, d.Message, "3 Helm chart versions")
	e2eAdmin(t, a, http.MethodDelete, "/projects/helm", nil, http.StatusPreconditionFailed)
	// The dry run left the charts where they were.
	p = e2eJSON[api.Project](t, e2eAdmin(t, a, http.MethodGet, "/projects/helm", nil, http.StatusOK))
	assert.Equal(t, 2, p.ChartCount)

	e2eCreateProject(t, a, "empty", false)
	p = e2eJSON[api.Project](t, e2eAdmin(t, a, http.MethodGet, "/projects/empty", nil, http.StatusOK))
	assert.Zero(t, p.ChartCount)
}
