package api

// replDeps are the components behind the replication endpoints.
type replDeps struct{}

// replicationRoutes are the replication endpoints; none until they are wired.
func (a *API) replicationRoutes() []route { return nil }
