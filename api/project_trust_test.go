package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/trust"
)

// A project's content trust has one source: its metadata
// (enable_content_trust, enable_content_trust_cosign, content_trust) and
// its /trust/policy show and set the same thing, which is what the gate
// enforces.
func TestContentTrustOneSourceOfTruth(t *testing.T) {
	e, store := newTrustEnv(t)
	e.user("owner", "maint")
	e.project("p", false, "owner=project-admin", "maint=maintainer")
	gate := trust.WithProjects(store, func(ctx context.Context, name string) (string, string, error) {
		p, err := e.projects.Get(ctx, name)
		if err != nil {
			return name, "", nil
		}
		return trust.ProjectKey(p.ID), p.Metadata.ContentTrust, nil
	})
	type view struct {
		ect, cosign, name string // the project's metadata
		policy            api.TrustPolicyResp
		enforced          trust.Policy // what the gate applies
	}
	look := func(t *testing.T) view {
		t.Helper()
		var p api.Project
		e.do(as("owner"), http.MethodGet, "/projects/p", nil).ok(t, http.StatusOK, &p)
		var md map[string]string
		e.do(as("owner"), http.MethodGet, "/projects/p/metadatas/", nil).ok(t, http.StatusOK, &md)
		assert.Equal(t, *p.Metadata.EnableContentTrust, md["enable_content_trust"], "the project and its metadata agree")
		assert.Equal(t, *p.Metadata.EnableContentTrustCosign, md["enable_content_trust_cosign"])
		var pol api.TrustPolicyResp
		e.do(as("owner"), http.MethodGet, "/projects/p/trust/policy", nil).ok(t, http.StatusOK, &pol)
		eff, err := gate.Effective(t.Context(), "p")
		require.NoError(t, err)
		return view{*p.Metadata.EnableContentTrust, *p.Metadata.EnableContentTrustCosign, *p.Metadata.ContentTrust, pol, eff.Policy}
	}
	anyPolicy := trust.Policy{Mode: trust.ModeAny, Format: trust.FormatEither}
	off := trust.Policy{Mode: trust.ModeOff, Format: trust.FormatEither}

	v := look(t)
	assert.Equal(t, "false", v.ect)
	assert.Equal(t, api.TrustPolicyResp{TrustPolicy: api.TrustPolicy{Mode: "off", Format: "either"}, Inherited: true}, v.policy)

	// Metadata → policy.
	e.do(as("owner"), http.MethodPut, "/projects/p", api.ProjectReq{Metadata: &api.ProjectMetadata{EnableContentTrust: new("true")}}).
		ok(t, http.StatusOK, nil)
	v = look(t)
	assert.Equal(t, view{"true", "false", "enabled",
		api.TrustPolicyResp{TrustPolicy: api.TrustPolicy{Mode: "any", Format: "either"}}, anyPolicy}, v)

	e.do(as("owner"), http.MethodPut, "/projects/p/metadatas/enable_content_trust_cosign",
		map[string]string{"enable_content_trust_cosign": "true"}).ok(t, http.StatusOK, nil)
	v = look(t)
	assert.Equal(t, view{"true", "true", "cosign", api.TrustPolicyResp{TrustPolicy: api.TrustPolicy{Mode: "any", Format: "cosign"}},
		trust.Policy{Mode: trust.ModeAny, Format: trust.FormatCosign}}, v)

	// Policy → metadata.
	e.do(as("owner"), http.MethodPut, "/projects/p/trust/policy", api.TrustPolicy{Mode: "off"}).ok(t, http.StatusOK, nil)
	v = look(t)
	assert.Equal(t, view{"false", "false", "", api.TrustPolicyResp{TrustPolicy: api.TrustPolicy{Mode: "off", Format: "either"}}, off}, v)

	e.do(as("owner"), http.MethodPut, "/projects/p/trust/policy",
		api.TrustPolicy{Mode: "signers", Signers: []string{"release"}}).ok(t, http.StatusOK, nil)
	v = look(t)
	assert.Equal(t, "true", v.ect)
	assert.Equal(t, "signers", v.name)
	// A client sending back what it read (Harbor's UI sends every
	// setting) does not weaken a signers policy to "any".
	e.do(as("owner"), http.MethodPut, "/projects/p", api.ProjectReq{Metadata: &api.ProjectMetadata{
		EnableContentTrust: new("true"), EnableContentTrustCosign: new("false"), ContentTrust: new("signers"),
		AutoScan: new("true")}}).ok(t, http.StatusOK, nil)
	assert.Equal(t, trust.ModeSigners, look(t).enforced.Mode)

	// Turning it off through the metadata turns the policy off.
	e.do(as("owner"), http.MethodDelete, "/projects/p/metadatas/enable_content_trust", nil).ok(t, http.StatusOK, nil)
	v = look(t)
	assert.Equal(t, view{"false", "false", "", api.TrustPolicyResp{TrustPolicy: api.TrustPolicy{Mode: "off", Format: "either"}}, off}, v)

	// The system default shows in both while the project has no policy.
	e.do(admin(), http.MethodPut, "/trust/policy", api.TrustPolicy{Mode: "any"}).ok(t, http.StatusOK, nil)
	e.do(as("owner"), http.MethodDelete, "/projects/p/trust/policy", nil).ok(t, http.StatusOK, nil)
	v = look(t)
	assert.Equal(t, view{"true", "false", "enabled",
		api.TrustPolicyResp{TrustPolicy: api.TrustPolicy{Mode: "any", Format: "either"}, Inherited: true}, anyPolicy}, v)

	// A project created with content trust gets the policy at once.
	e.do(as("owner"), http.MethodPost, "/projects", api.ProjectReq{ProjectName: "signed",
		Metadata: &api.ProjectMetadata{EnableContentTrustCosign: new("true")}}).ok(t, http.StatusCreated, nil)
	var pol api.TrustPolicyResp
	e.do(as("owner"), http.MethodGet, "/projects/signed/trust/policy", nil).ok(t, http.StatusOK, &pol)
	assert.Equal(t, api.TrustPolicyResp{TrustPolicy: api.TrustPolicy{Mode: "any", Format: "cosign"}}, pol)

	// Only project admins change it, through either door; bad values are 400.
	e.do(as("maint"), http.MethodPut, "/projects/p/metadatas/enable_content_trust",
		map[string]string{"enable_content_trust": "true"}).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(as("owner"), http.MethodPut, "/projects/p/metadatas/enable_content_trust",
		map[string]string{"enable_content_trust": "maybe"}).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(as("owner"), http.MethodPut, "/projects/p", api.ProjectReq{Metadata: &api.ProjectMetadata{ContentTrust: new("strict")}}).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")
}

// A project whose content_trust metadata mode an earlier version stored,
// with no policy of its own, shows that mode through the policy too, as
// the gate enforces it; setting or resetting the policy retires the mode.
func TestContentTrustLegacyMetadataMode(t *testing.T) {
	e, _ := newTrustEnv(t)
	e.user("owner")
	e.project("p", false, "owner=project-admin")
	_, err := e.projects.Update(t.Context(), "p", func(p *project.Project) error {
		p.Metadata.ContentTrust = "notation"
		return nil
	})
	require.NoError(t, err)
	var pol api.TrustPolicyResp
	e.do(as("owner"), http.MethodGet, "/projects/p/trust/policy", nil).ok(t, http.StatusOK, &pol)
	assert.Equal(t, api.TrustPolicyResp{TrustPolicy: api.TrustPolicy{Mode: "any", Format: "notation"}}, pol)
	var p api.Project
	e.do(as("owner"), http.MethodGet, "/projects/p", nil).ok(t, http.StatusOK, &p)
	assert.Equal(t, "true", *p.Metadata.EnableContentTrust)
	assert.Equal(t, "notation", *p.Metadata.ContentTrust)

	e.do(as("owner"), http.MethodDelete, "/projects/p/trust/policy", nil).ok(t, http.StatusOK, nil)
	stored, err := e.projects.Get(t.Context(), "p")
	require.NoError(t, err)
	assert.Empty(t, stored.Metadata.ContentTrust)
	pol = api.TrustPolicyResp{}
	e.do(as("owner"), http.MethodGet, "/projects/p/trust/policy", nil).ok(t, http.StatusOK, &pol)
	assert.Equal(t, api.TrustPolicyResp{TrustPolicy: api.TrustPolicy{Mode: "off", Format: "either"}, Inherited: true}, pol)
}

// Without the trust endpoints the metadata mode is all there is, and the
// fields read back what was written.
func TestContentTrustMetadataWithoutTrust(t *testing.T) {
	e := newEnv(t)
	e.user("owner")
	e.project("p", false, "owner=project-admin")
	e.do(as("owner"), http.MethodPut, "/projects/p/metadatas/enable_content_trust_cosign",
		map[string]string{"enable_content_trust_cosign": "true"}).ok(t, http.StatusOK, nil)
	stored, err := e.projects.Get(t.Context(), "p")
	require.NoError(t, err)
	assert.Equal(t, "cosign", stored.Metadata.ContentTrust)
	var md map[string]string
	e.do(as("owner"), http.MethodGet, "/projects/p/metadatas/", nil).ok(t, http.StatusOK, &md)
	assert.Equal(t, "true", md["enable_content_trust"])
	assert.Equal(t, "true", md["enable_content_trust_cosign"])
	e.do(as("owner"), http.MethodPut, "/projects/p/metadatas/enable_content_trust",
		map[string]string{"enable_content_trust": "false"}).ok(t, http.StatusOK, nil)
	stored, err = e.projects.Get(t.Context(), "p")
	require.NoError(t, err)
	assert.Empty(t, stored.Metadata.ContentTrust)
}
