package api

import "net/http"

// Patterns lists "METHOD /api/v2.0/path" for every registered route.
func (a *API) Patterns() []string {
	out := make([]string, 0, len(a.routes))
	for _, rt := range a.routes {
		out = append(out, rt.method+" "+BasePath+rt.path)
	}
	return out
}

// Matched returns the route pattern the router picks for r, or "".
func (a *API) Matched(r *http.Request) string {
	_, p := a.mux.Handler(r)
	return p
}
