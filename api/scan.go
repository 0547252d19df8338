package api

// scanDeps are the components behind the vulnerability scanning endpoints.
type scanDeps struct{}

// scanRoutes are the vulnerability scanning endpoints; none until they are wired.
func (a *API) scanRoutes() []route { return nil }
