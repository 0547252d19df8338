package api

// trustDeps are the components behind the content trust endpoints.
type trustDeps struct{}

// trustRoutes are the content trust endpoints; none until they are wired.
func (a *API) trustRoutes() []route { return nil }
