package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/server"
)

// A project created under a deleted project's name starts clean: it does
// not inherit the old one's CVE allowlist, which would weaken its gate.
func TestDeletedProjectSettingsDoNotCarryOver(t *testing.T) {
	a := startE2EApp(t, nil, server.WithBuiltinScanner(
		func(context.Context, *server.Assembly) (string, scan.Scanner, scan.SBOMGenerator, error) {
			return "fake", &scan.Static{Info: scan.ScannerInfo{Name: "fake", Vendor: "tests", Version: "1"}}, nil, nil
		}))
	allowlist := func() api.CVEAllowlist {
		var l api.CVEAllowlist
		require.NoError(t, json.Unmarshal(e2eAdmin(t, a, http.MethodGet, "/projects/p/cve-allowlist", nil, http.StatusOK).body, &l))
		return l
	}
	e2eAdmin(t, a, http.MethodPost, "/projects", api.ProjectReq{ProjectName: "p"}, http.StatusCreated)
	e2eAdmin(t, a, http.MethodPut, "/projects/p/cve-allowlist", api.CVEAllowlist{Items: []api.CVEAllowlistItem{{CVEID: "CVE-2024-1111"}}},
		http.StatusOK)
	require.Len(t, allowlist().Items, 1)

	e2eAdmin(t, a, http.MethodDelete, "/projects/p", nil, http.StatusOK)
	e2eAdmin(t, a, http.MethodPost, "/projects", api.ProjectReq{ProjectName: "p"}, http.StatusCreated)
	assert.Empty(t, allowlist().Items)
}
