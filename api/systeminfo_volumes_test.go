package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/berthlabs/berth/api"
)

type fixedVolumes []api.Storage

func (v fixedVolumes) Volumes(context.Context) ([]api.Storage, error) { return v, nil }

type fixedCA []byte

func (c fixedCA) CACert(context.Context) ([]byte, error) { return c, nil }

func TestVolumes(t *testing.T) {
	e := newEnv(t, api.WithVolumes(fixedVolumes{{Total: 1000, Free: 400}}))
	e.user("alice")
	var got map[string]any
	e.do(admin(), http.MethodGet, "/systeminfo/volumes", nil).ok(t, http.StatusOK, &got)
	assert.Equal(t, map[string]any{"storage": []any{map[string]any{"total": float64(1000), "free": float64(400)}}}, got)
	e.do(as("alice"), http.MethodGet, "/systeminfo/volumes", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(anonymous, http.MethodGet, "/systeminfo/volumes", nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")

	unknown := newEnv(t)
	unknown.do(admin(), http.MethodGet, "/systeminfo/volumes", nil).ok(t, http.StatusOK, &got)
	assert.Equal(t, map[string]any{"storage": []any{}}, got)
}

func TestGetCert(t *testing.T) {
	pem := "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	e := newEnv(t, api.WithCACert(fixedCA(pem)))
	r := e.do(anonymous, http.MethodGet, "/systeminfo/getcert", nil)
	assert.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, pem, string(r.Body))
	assert.Equal(t, "application/octet-stream", r.Header.Get("Content-Type"))
	assert.Equal(t, `attachment; filename="ca.crt"`, r.Header.Get("Content-Disposition"))

	none := newEnv(t)
	msg := none.do(anonymous, http.MethodGet, "/systeminfo/getcert", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	assert.Contains(t, msg, "no default root certificate")
	none.do(cred{"admin", "wrong-password"}, http.MethodGet, "/systeminfo/getcert", nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
}
