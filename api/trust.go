package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/trust"
)

// TrustStores keeps trust stores and policies; *trust.Store implements it.
// Project "" is the system's.
type TrustStores interface {
	AddEntry(ctx context.Context, project, name string, pemText []byte) (*trust.Entry, error)
	Entries(ctx context.Context, project string) ([]*trust.Entry, error)
	DeleteEntry(ctx context.Context, project string, id int64) error
	Policy(ctx context.Context, project string) (trust.Policy, bool, error)
	SetPolicy(ctx context.Context, project string, p trust.Policy) error
	ResetPolicy(ctx context.Context, project string) error
}

// TrustChecker verifies an artifact's signatures under its project's
// policy; *trust.Gate implements it.
type TrustChecker interface {
	Check(ctx context.Context, subj trust.Subject) (trust.Decision, []trust.Signature, error)
}

// trustDeps are the components behind the content trust endpoints.
type trustDeps struct {
	stores  TrustStores
	checker TrustChecker
}

// WithTrust serves the content trust endpoints: trust stores, policies
// and the verified signers of artifacts. A project's trust store and
// policy are kept under trust.ProjectKey(its ID), so a project deleted and
// created again under the same name starts with none; give the checker
// Policies that resolve projects the same way (trust.WithProjects).
func WithTrust(stores TrustStores, checker TrustChecker) Option {
	return func(c *config) { c.trust = trustDeps{stores: stores, checker: checker} }
}

// TrustKey is a public key or certificate of a trust store.
type TrustKey struct {
	ID       int64     `json:"id"`
	Name     string    `json:"name"`
	Kind     string    `json:"kind" doc:"key (a public key, for cosign) or certificate (for Notation)"`
	KeyID    string    `json:"key_id" doc:"sha256:<hex> of the public key's DER; usable as a named signer"`
	Subject  string    `json:"subject,omitempty" doc:"the certificate's subject; usable as a named signer"`
	NotAfter time.Time `json:"not_after,omitzero"`
	PEM      string    `json:"pem"`
	Created  time.Time `json:"creation_time"`
}

// TrustKeyReq uploads a key or certificate.
type TrustKeyReq struct {
	Name string `json:"name" doc:"Unique in its trust store"`
	PEM  string `json:"pem" doc:"One PEM block: PUBLIC KEY (ECDSA, Ed25519, RSA) or CERTIFICATE"`
}

// TrustPolicy is a content trust policy.
type TrustPolicy struct {
	Mode    string   `json:"mode" doc:"off, any (a signer of the trust store) or signers (one of signers)"`
	Format  string   `json:"format,omitempty" doc:"cosign, notation or either (default)"`
	Signers []string `json:"signers,omitempty" doc:"trust store entry names, key IDs or certificate subjects"`
}

// TrustPolicyResp is a project's policy in force.
type TrustPolicyResp struct {
	TrustPolicy
	Inherited bool `json:"inherited" doc:"true when the project has no policy of its own and the system default applies"`
}

// TrustSigner is who made a verified signature.
type TrustSigner struct {
	Name    string `json:"name,omitempty"`
	KeyID   string `json:"key_id,omitempty"`
	Subject string `json:"subject,omitempty"`
}

// TrustSignature is one signature found on an artifact.
type TrustSignature struct {
	Format   string      `json:"format" doc:"cosign or notation"`
	Form     string      `json:"form" doc:"tag, referrer, bundle, jws or cose"`
	Manifest string      `json:"manifest,omitempty" doc:"digest of the manifest carrying the signature"`
	Verified bool        `json:"verified"`
	Signer   TrustSigner `json:"signer"`
	Reason   string      `json:"reason,omitempty" doc:"why the signature is not verified"`
}

// TrustVerification is the content trust verdict on an artifact.
type TrustVerification struct {
	Digest     string           `json:"digest"`
	Allowed    bool             `json:"allowed" doc:"whether the project's policy lets it be pulled"`
	Reason     string           `json:"reason"`
	Signers    []TrustSigner    `json:"signers" doc:"the verified signers that satisfied the policy"`
	Signatures []TrustSignature `json:"signatures"`
}

// trustRoutes are the content trust endpoints; none until they are wired.
func (a *API) trustRoutes() []route {
	if a.cfg.trust.stores == nil {
		return nil
	}
	get, post, put, del := http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	pKeys := pProject + "/trust/keys"
	rs := []route{
		{method: get, path: "/trust/keys", id: "listSystemTrustKeys", tag: "trust",
			summary: "List the system trust store, which every project trusts", resp: []TrustKey{}, handle: a.listTrustKeys},
		{method: post, path: "/trust/keys", id: "addSystemTrustKey", tag: "trust",
			summary: "Add a public key or certificate to the system trust store (system admins)", body: TrustKeyReq{},
			resp: TrustKey{}, status: http.StatusCreated, handle: a.addTrustKey},
		{method: del, path: "/trust/keys/{key_id}", id: "deleteSystemTrustKey", tag: "trust",
			summary: "Remove an entry of the system trust store (system admins)", handle: a.deleteTrustKey},
		{method: get, path: "/trust/policy", id: "getSystemTrustPolicy", tag: "trust",
			summary: "The default content trust policy of projects without one", resp: TrustPolicyResp{}, handle: a.getTrustPolicy},
		{method: put, path: "/trust/policy", id: "setSystemTrustPolicy", tag: "trust",
			summary: "Set the default content trust policy (system admins)", body: TrustPolicy{}, handle: a.setTrustPolicy},

		{method: get, path: pKeys, id: "listProjectTrustKeys", tag: "trust",
			summary: "List a project's trust store (the system's applies too)", resp: []TrustKey{}, handle: a.listTrustKeys},
		{method: post, path: pKeys, id: "addProjectTrustKey", tag: "trust",
			summary: "Add a public key or certificate to a project's trust store (project admins)", body: TrustKeyReq{},
			resp: TrustKey{}, status: http.StatusCreated, handle: a.addTrustKey},
		{method: del, path: pKeys + "/{key_id}", id: "deleteProjectTrustKey", tag: "trust",
			summary: "Remove an entry of a project's trust store (project admins)", handle: a.deleteTrustKey},
		{method: get, path: pProject + "/trust/policy", id: "getProjectTrustPolicy", tag: "trust",
			summary: "A project's content trust policy in force", resp: TrustPolicyResp{}, handle: a.getTrustPolicy},
		{method: put, path: pProject + "/trust/policy", id: "setProjectTrustPolicy", tag: "trust",
			summary: "Set a project's content trust policy (project admins)", body: TrustPolicy{}, handle: a.setTrustPolicy},
		{method: del, path: pProject + "/trust/policy", id: "resetProjectTrustPolicy", tag: "trust",
			summary: "Drop a project's own policy, so the system default applies (project admins)", handle: a.resetTrustPolicy},
	}
	if a.cfg.trust.checker != nil {
		rs = append(rs, route{method: get, path: pArt + "/signatures", id: "getArtifactSignatures", tag: "trust",
			summary: "The artifact's signatures, verified, and whether its project's policy lets it be pulled",
			resp:    TrustVerification{}, handle: a.artifactSignatures})
	}
	return rs
}

// trustScope resolves the trust store or policy a request is about: the
// system's ("") or a project's, after checking the caller may act on it:
// anyone who may see the project reads, project admins write; signed-in
// users read the system's, system admins write.
func (c *call) trustScope(write bool) (string, error) {
	if c.r.PathValue("project_name_or_id") == "" {
		if !write {
			if c.p.Kind == rbac.Anonymous {
				return "", unauthorized("authentication required")
			}
			return "", nil
		}
		return "", c.requireAdmin(permOn(rbac.ResourceConfiguration, rbac.ActionUpdate))
	}
	if !write {
		p, err := c.readableProject()
		return trust.ProjectKey(p.ID), err
	}
	p, err := c.project()
	if err != nil {
		return "", err
	}
	return trust.ProjectKey(p.ID), c.require(p.Name, "", permOn(rbac.ResourceMetadata, rbac.ActionUpdate))
}

func trustKeyJSON(e *trust.Entry) TrustKey {
	return TrustKey{ID: e.ID, Name: e.Name, Kind: string(e.Kind), KeyID: e.KeyID, Subject: e.Subject,
		NotAfter: e.NotAfter, PEM: e.PEM, Created: e.Created}
}

func (a *API) listTrustKeys(c *call) error {
	scope, err := c.trustScope(false)
	if err != nil {
		return err
	}
	es, err := a.cfg.trust.stores.Entries(c.ctx(), scope)
	if err != nil {
		return err
	}
	out := make([]TrustKey, 0, len(es))
	for _, e := range es {
		out = append(out, trustKeyJSON(e))
	}
	return c.json(http.StatusOK, out)
}

func (a *API) addTrustKey(c *call) error {
	scope, err := c.trustScope(true)
	if err != nil {
		return err
	}
	var req TrustKeyReq
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	e, err := a.cfg.trust.stores.AddEntry(c.ctx(), scope, req.Name, []byte(req.PEM))
	if err != nil {
		return err
	}
	loc := BasePath + "/trust/keys/"
	if scope != "" {
		loc = BasePath + "/projects/" + c.r.PathValue("project_name_or_id") + "/trust/keys/"
	}
	return c.created(loc+strconv.FormatInt(e.ID, 10), trustKeyJSON(e))
}

func (a *API) deleteTrustKey(c *call) error {
	scope, err := c.trustScope(true)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.r.PathValue("key_id"), 10, 64)
	if err != nil {
		return notFound(fmt.Sprintf("trust store entry %q does not exist", c.r.PathValue("key_id")))
	}
	if err := a.cfg.trust.stores.DeleteEntry(c.ctx(), scope, id); err != nil {
		return err
	}
	return c.ok()
}

func (a *API) getTrustPolicy(c *call) error {
	scope, err := c.trustScope(false)
	if err != nil {
		return err
	}
	var p trust.Policy
	inherited := false
	if scope == "" {
		p, _, err = a.cfg.trust.stores.Policy(c.ctx(), scope)
	} else {
		// What the project's metadata shows too (project_trust.go).
		var proj project.Project
		if proj, err = c.project(); err == nil {
			p, inherited, err = a.projectTrust(c.ctx(), proj)
		}
	}
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, TrustPolicyResp{TrustPolicy: trustPolicyJSON(p), Inherited: inherited})
}

func trustPolicyJSON(p trust.Policy) TrustPolicy {
	if p.Mode == "" {
		p.Mode = trust.ModeOff
	}
	if p.Format == "" {
		p.Format = trust.FormatEither
	}
	return TrustPolicy{Mode: string(p.Mode), Format: string(p.Format), Signers: p.Signers}
}

func (a *API) setTrustPolicy(c *call) error {
	scope, err := c.trustScope(true)
	if err != nil {
		return err
	}
	var req TrustPolicy
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	p := trust.Policy{Mode: trust.Mode(req.Mode), Format: trust.Format(req.Format), Signers: req.Signers}
	if err := a.cfg.trust.stores.SetPolicy(c.ctx(), scope, p); err != nil {
		return err
	}
	if err := a.trustMetadataFollows(c, scope); err != nil {
		return err
	}
	return c.ok()
}

// trustMetadataFollows drops a project's older content_trust metadata
// mode once its policy was set or reset, so the metadata shows the policy.
func (a *API) trustMetadataFollows(c *call, scope string) error {
	if scope == "" {
		return nil
	}
	p, err := c.project()
	if err != nil {
		return err
	}
	return a.dropTrustMetadata(c.ctx(), p)
}

func (a *API) resetTrustPolicy(c *call) error {
	scope, err := c.trustScope(true)
	if err != nil {
		return err
	}
	if err := a.cfg.trust.stores.ResetPolicy(c.ctx(), scope); err != nil {
		return err
	}
	if err := a.trustMetadataFollows(c, scope); err != nil {
		return err
	}
	return c.ok()
}

func trustSignerJSON(s trust.Signer) TrustSigner {
	return TrustSigner{Name: s.Name, KeyID: s.KeyID, Subject: s.Subject}
}

func (a *API) artifactSignatures(c *call) error {
	_, art, err := a.artifact(c, permOn(rbac.ResourceArtifact, rbac.ActionRead))
	if err != nil {
		return err
	}
	v, err := a.trustVerification(c.ctx(), *art)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, v)
}

// trustVerification is the content trust verdict on art, with every
// signature found.
func (a *API) trustVerification(ctx context.Context, art registry.Artifact) (*TrustVerification, error) {
	d, sigs, err := a.cfg.trust.checker.Check(ctx, trust.Subject{Repository: art.Repository, Digest: art.Digest,
		MediaType: art.MediaType, Size: art.Size})
	if err != nil {
		return nil, err
	}
	out := &TrustVerification{Digest: art.Digest.String(), Allowed: d.Allowed, Reason: d.Reason,
		Signers: []TrustSigner{}, Signatures: make([]TrustSignature, 0, len(sigs))}
	for _, s := range d.Signers {
		out.Signers = append(out.Signers, trustSignerJSON(s))
	}
	for _, s := range sigs {
		out.Signatures = append(out.Signatures, TrustSignature{Format: string(s.Format), Form: s.Form,
			Manifest: s.Manifest.String(), Verified: s.Verified, Signer: trustSignerJSON(s.Signer), Reason: s.Reason})
	}
	return out, nil
}
