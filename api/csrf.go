package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/berthlabs/berth/internal/origin"
)

// A browser that holds Basic credentials for the server sends them with
// any request a foreign page makes it send, and a form can POST without a
// CORS preflight. The guard refuses state-changing requests that a
// browser marks as coming from another site; clients that are not
// browsers send neither Origin nor Sec-Fetch-Site, and pass.

// CrossSiteOption configures CrossSiteGuard.
type CrossSiteOption func(*crossSite)

// GuardExternalURL names the server's external URL: requests from its
// origin pass, besides those from the origin of the request's own Host.
func GuardExternalURL(u string) CrossSiteOption {
	return func(g *crossSite) {
		if o, err := origin.Of(u); err == nil {
			g.allowed[o] = true
		}
	}
}

// GuardAllowedOrigins lets browser pages from these origins
// (scheme://host[:port]) change state, e.g. a UI served elsewhere. Entries
// that are not such an origin allow nothing (WithAllowedOrigins refuses
// them).
func GuardAllowedOrigins(origins ...string) CrossSiteOption {
	return func(g *crossSite) {
		for _, raw := range origins {
			if o, err := origin.Of(raw); err == nil {
				g.allowed[o] = true
				g.listed[o] = true
			}
		}
	}
}

type crossSite struct {
	allowed map[string]bool // the server's own origins and the listed ones
	listed  map[string]bool // listed by the operator: pass even when cross-site
}

func newCrossSite(opts []CrossSiteOption) *crossSite {
	g := &crossSite{allowed: map[string]bool{}, listed: map[string]bool{}}
	for _, o := range opts {
		o(g)
	}
	return g
}

// CrossSiteGuard answers 403 to POST, PUT, PATCH and DELETE requests whose
// Origin header is present and is not the server's own (the origin of the
// request's Host, or one GuardExternalURL or GuardAllowedOrigins names),
// or whose Sec-Fetch-Site is cross-site from an origin not listed with
// GuardAllowedOrigins. The API applies it to itself; wrap other handlers
// that act on a browser's credentials (chart uploads) with it too.
func CrossSiteGuard(next http.Handler, opts ...CrossSiteOption) http.Handler {
	g := newCrossSite(opts)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e := g.refusal(r); e != nil {
			writeJSON(w, e.Status, Errors{Errors: []Error{{Code: e.Code, Message: e.Message}}})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// refusal is the answer to a cross-site request that changes state, or
// nil.
func (g *crossSite) refusal(r *http.Request) *apiError {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return nil
	}
	from, hasOrigin := r.Header.Get("Origin"), r.Header.Get("Origin") != ""
	site := r.Header.Get("Sec-Fetch-Site")
	norm, err := origin.Of(from)
	if hasOrigin && err != nil {
		norm = from // "null" (a sandboxed frame, a redirect) or garbage: nobody's
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	own := origin.OfHost(scheme, r.Host)
	switch {
	case site == "cross-site" && !(hasOrigin && g.listed[norm]):
		what := "a page of another site"
		if hasOrigin {
			what = "a page at " + strconv.Quote(from)
		}
		return crossSiteError(fmt.Sprintf("cross-site request refused: the browser reports it comes from %s (Sec-Fetch-Site: cross-site); "+
			"changes are accepted only from this server's own pages, or from origins the operator allows", what))
	case hasOrigin && norm != own && !g.allowed[norm]:
		return crossSiteError(fmt.Sprintf("cross-site request refused: Origin %q is not this server's (%s); "+
			"changes are accepted only from this server's own pages, or from origins the operator allows", from, own))
	}
	return nil
}

// validOrigin checks an origin an operator allows: scheme://host[:port]
// and nothing more.
func validOrigin(o string) error {
	u, err := url.Parse(o)
	if _, oerr := origin.Of(o); err != nil || oerr != nil || u.User != nil || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("api: allowed origin %q: want scheme://host[:port], nothing more", o)
	}
	return nil
}

func crossSiteError(msg string) *apiError {
	return &apiError{Status: http.StatusForbidden, Code: codeForbidden, Message: msg}
}
