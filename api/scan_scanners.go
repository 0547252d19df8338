package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/scan"
)

// Scanner registrations (/scanners) and the scanner each project uses.

func registrationJSON(r scan.Registration) ScannerRegistration {
	return ScannerRegistration{UUID: r.ID, Name: r.Name, Description: r.Description, URL: r.URL, Auth: r.Auth,
		Disabled: r.Disabled, IsDefault: r.Default, SkipCert: r.SkipVerify, UseInternal: r.UseInternal, Builtin: r.Builtin,
		CreateTime: r.CreatedAt, UpdateTime: r.UpdatedAt}
}

func registrationOf(req ScannerRegistrationReq) scan.Registration {
	return scan.Registration{Name: req.Name, Description: req.Description, URL: req.URL, Auth: req.Auth,
		Credential: req.AccessCredential, SkipVerify: req.SkipCert, UseInternal: req.UseInternal, Disabled: req.Disabled,
		Default: req.IsDefault}
}

func metadataJSON(md scan.Metadata) ScannerAdapterMetadata {
	props := md.Properties
	if props == nil {
		props = map[string]string{}
	}
	return ScannerAdapterMetadata{Scanner: ScannerInfo(md.Scanner), Properties: props,
		Capabilities: []ScannerCapability{{ConsumesMIMETypes: nonNil(md.Consumes), ProducesMIMETypes: nonNil(md.Produces)}}}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// scannerAdmin lets system admins manage scanners.
func (c *call) scannerAdmin(act rbac.Action) error {
	return c.requireAdmin(permOn(rbac.ResourceScanner, act))
}

// scannerRequest admits system admins allowed act on scanners, then
// reads the request's registration.
func (c *call) scannerRequest(act rbac.Action) (ScannerRegistrationReq, error) {
	if err := c.scannerAdmin(act); err != nil {
		return ScannerRegistrationReq{}, err
	}
	return decodeAs[ScannerRegistrationReq](c)
}

// scannerID is the request's {registration_id}.
func (c *call) scannerID() string { return c.r.PathValue("registration_id") }

// answerRegistration answers 200 with the registration a scanner call
// returned, or with the call's error.
func (c *call) answerRegistration(r scan.Registration, err error) error {
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, registrationJSON(r))
}

// answerMetadata answers 200 with what a scanner says of itself, or with
// why it did not say it.
func (c *call) answerMetadata(md scan.Metadata, err error) error {
	if err != nil {
		return c.scannerUnreachable(err)
	}
	return c.json(http.StatusOK, metadataJSON(md))
}

// scannerUnreachable answers a scanner that did not answer well: with
// what happened, never what the adapter sent (its URL is any address an
// administrator typed).
func (c *call) scannerUnreachable(err error) error {
	var pe *scan.ProbeError
	if errors.As(err, &pe) {
		c.a.cfg.log.InfoContext(c.ctx(), "api: scanner check failed", "scanner", pe.Scanner, "url", pe.URL, "err", pe.Err)
		return &apiError{http.StatusServiceUnavailable, codeUnavailable, "the scanner did not answer: " + pe.Error()}
	}
	return err
}

func (a *API) listScanners(c *call) error {
	if err := c.scannerAdmin(rbac.ActionList); err != nil {
		return err
	}
	terms, err := parseQKeys(c.r.URL.Query().Get("q"), qSets("name"), qPlain("description"), qPlain("url"))
	if err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	regs, err := a.cfg.scan.svc.Scanners(c.ctx())
	if err != nil {
		return err
	}
	regs = slices.DeleteFunc(regs, func(r scan.Registration) bool {
		return !termMatches(terms, "name", r.Name) || !termMatches(terms, "description", r.Description) || !termMatches(terms, "url", r.URL)
	})
	out, total, err := listPage(c, pg, "", candidateSort(), sliceLister(regs))
	if err != nil {
		return err
	}
	return c.paged(pg, total, convertAll(out, func(r *scan.Registration) ScannerRegistration { return registrationJSON(*r) }))
}

// scannerListDoc documents the q and sort of listScanners.
const scannerListDoc = "q keys: name (=v, =~substring, ={a b} any of), description, url (=v, =~substring); sort: name, description, url, create_time, update_time"

func (a *API) createScanner(c *call) error {
	req, err := c.scannerRequest(rbac.ActionCreate)
	if err != nil {
		return err
	}
	r, err := a.cfg.scan.svc.AddScanner(c.ctx(), registrationOf(req))
	if err != nil {
		return err
	}
	return c.created(BasePath+"/scanners/"+url.PathEscape(r.ID), registrationJSON(r))
}

func (a *API) pingScanner(c *call) error {
	req, err := c.scannerRequest(rbac.ActionCreate)
	if err != nil {
		return err
	}
	if req.Name == "" {
		req.Name = "ping"
	}
	return c.answerMetadata(a.cfg.scan.svc.PingScanner(c.ctx(), registrationOf(req)))
}

func (a *API) getScanner(c *call) error {
	if err := c.scannerAdmin(rbac.ActionRead); err != nil {
		return err
	}
	return c.answerRegistration(a.cfg.scan.svc.Scanner(c.ctx(), c.scannerID()))
}

func (a *API) updateScanner(c *call) error {
	req, err := c.scannerRequest(rbac.ActionUpdate)
	if err != nil {
		return err
	}
	return c.answerRegistration(a.cfg.scan.svc.UpdateScanner(c.ctx(), c.scannerID(), registrationOf(req)))
}

func (a *API) setDefaultScanner(c *call) error {
	if err := c.scannerAdmin(rbac.ActionUpdate); err != nil {
		return err
	}
	req, err := decodeAs[IsDefault](c)
	if err != nil {
		return err
	}
	if !req.IsDefault {
		return badRequest("is_default must be true: make another scanner the default instead")
	}
	return a.okOr(c, a.cfg.scan.svc.SetDefaultScanner(c.ctx(), c.scannerID()))
}

func (a *API) deleteScanner(c *call) error {
	if err := c.scannerAdmin(rbac.ActionDelete); err != nil {
		return err
	}
	r, err := a.cfg.scan.svc.Scanner(c.ctx(), c.scannerID())
	if err != nil {
		return err
	}
	return c.answerRegistration(r, a.cfg.scan.svc.DeleteScanner(c.ctx(), c.scannerID()))
}

func (a *API) scannerMetadata(c *call) error {
	if err := c.scannerAdmin(rbac.ActionRead); err != nil {
		return err
	}
	return c.answerMetadata(a.cfg.scan.svc.ScannerMetadata(c.ctx(), c.scannerID()))
}

func (a *API) getProjectScanner(c *call) error {
	p, err := c.projectFor(permOn(rbac.ResourceScanner, rbac.ActionRead))
	if err != nil {
		return err
	}
	r, err := a.cfg.scan.svc.ProjectScanner(c.ctx(), p.Name)
	if errors.Is(err, scan.ErrNoScanner) {
		return notFound(err.Error())
	}
	return c.answerRegistration(r, err)
}

func (a *API) setProjectScanner(c *call) error {
	p, err := c.projectFor(permOn(rbac.ResourceScanner, rbac.ActionCreate))
	if err != nil {
		return err
	}
	req, err := decodeAs[ProjectScanner](c)
	if err != nil {
		return err
	}
	err = a.cfg.scan.svc.SetProjectScanner(c.ctx(), p.Name, req.UUID)
	if errors.Is(err, scan.ErrNotFound) {
		return badRequest(fmt.Sprintf("scanner %q does not exist", req.UUID))
	}
	return a.okOr(c, err)
}
