package main

// The management API of a server process, called as its admin: what the
// end-to-end tests of replication and scanning drive it with.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

// adminAPI sends a management API request to the server process as the
// admin (whose password the test set to e2eAdminPassword), with body as
// JSON when it is not nil, and returns the finished exchange.
func (s *serverProc) adminAPI(t *testing.T, method, path string, body any) e2eResp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+api.BasePath+path, rd)
	require.NoError(t, err)
	req.SetBasicAuth("admin", e2eAdminPassword)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return e2eResp{status: resp.StatusCode, header: resp.Header, body: b}
}

// mustAdminAPI is adminAPI that requires the answer's status to be want.
func (s *serverProc) mustAdminAPI(t *testing.T, method, path string, body any, want int) e2eResp {
	t.Helper()
	r := s.adminAPI(t, method, path, body)
	require.Equal(t, want, r.status, "%s %s: %s", method, path, r.body)
	return r
}
