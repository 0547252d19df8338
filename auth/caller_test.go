package auth_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
)

// CallerMay answers for the caller Authorize let in: from its roles for
// Basic credentials, from what its token grants for Bearer ones, and
// nothing for anonymous callers or contexts Authorize never saw.
func TestCallerMay(t *testing.T) {
	w := newWorld(t)
	push := rbac.Permission{Resource: rbac.ResourceRepository, Action: rbac.ActionPush}
	pull := rbac.Permission{Resource: rbac.ResourceRepository, Action: rbac.ActionPull}
	need := []registry.Access{{Type: registry.ResourceRepository, Name: "priv/app", Actions: []string{registry.ActionPull}}}
	authorize := func(set func(r *http.Request)) context.Context {
		t.Helper()
		r, err := http.NewRequestWithContext(t.Context(), http.MethodGet, w.srv.URL+"/v2/priv/app/manifests/v1", nil)
		require.NoError(t, err)
		set(r)
		ctx, err := w.gk.Authorize(r, need)
		require.NoError(t, err)
		return ctx
	}

	alice := authorize(func(r *http.Request) { r.SetBasicAuth("alice", "alice-password-1") }) // developer
	assert.True(t, w.gk.CallerMay(alice, "priv", "priv/app", push))
	gus := authorize(func(r *http.Request) { r.SetBasicAuth("gus", "gus-password-1") }) // guest
	assert.True(t, w.gk.CallerMay(gus, "priv", "priv/app", pull))
	assert.False(t, w.gk.CallerMay(gus, "priv", "priv/app", push))

	// A token holds exactly its scopes.
	pullOnly := w.token(t, "alice", "alice-password-1", "repository:priv/app:pull")
	ctx := authorize(func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+pullOnly) })
	assert.True(t, w.gk.CallerMay(ctx, "priv", "priv/app", pull))
	assert.True(t, w.gk.CallerMay(ctx, "priv", "priv/app", push), "alice may push, though this token does not say so")
	gusTok := w.token(t, "gus", "gus-password-1", "repository:priv/app:pull")
	ctx = authorize(func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+gusTok) })
	assert.False(t, w.gk.CallerMay(ctx, "priv", "priv/app", push))
	both := w.token(t, "alice", "alice-password-1", "repository:priv/app:pull,push")
	ctx = authorize(func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+both) })
	assert.True(t, w.gk.CallerMay(ctx, "priv", "priv/app", push))
	assert.False(t, w.gk.CallerMay(ctx, "pub", "pub/app", push), "scopes name one repository; her roles give none in pub")

	anonNeed := []registry.Access{{Type: registry.ResourceRepository, Name: "pub/app", Actions: []string{registry.ActionPull}}}
	r, err := http.NewRequestWithContext(t.Context(), http.MethodGet, w.srv.URL+"/v2/pub/app/manifests/v1", nil)
	require.NoError(t, err)
	anon, err := w.gk.Authorize(r, anonNeed)
	require.NoError(t, err)
	assert.False(t, w.gk.CallerMay(anon, "pub", "pub/app", pull))
	assert.False(t, w.gk.CallerMay(t.Context(), "priv", "priv/app", pull))
}
