package ui

import "net/http"

// routes maps the portal's paths (under the base path). Pages that need
// a signed-in user go through signedIn; their POST forms carry the CSRF
// token and answer with a redirect.
func (u *UI) routes() {
	b := u.base
	m := u.mux
	m.HandleFunc("GET "+b+"/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, b+"/projects", http.StatusSeeOther)
	})
	if b != "" {
		m.HandleFunc("GET "+b, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, b+"/projects", http.StatusSeeOther)
		})
	}
	m.HandleFunc("GET "+b+"/login", u.loginPage)
	m.HandleFunc("POST "+b+"/login", u.login)
	m.HandleFunc("GET "+b+"/language", u.setLanguage)
	m.Handle("POST "+b+"/logout", u.signedIn(u.logout))
	m.Handle("GET "+b+"/account/password", u.signedIn(u.passwordPage))
	m.Handle("POST "+b+"/account/password", u.signedIn(u.changePassword))

	// Projects.
	m.Handle("GET "+b+"/projects", u.signedIn(u.projectsPage))
	m.Handle("POST "+b+"/projects", u.signedIn(u.createProject))
	m.Handle("POST "+b+"/projects/{id}/delete", u.signedIn(u.deleteProject))

	// Registries, replication and webhooks.
	m.Handle("GET "+b+"/admin/registries", u.signedIn(u.registriesPage))
	m.Handle("POST "+b+"/admin/registries", u.signedIn(u.createRegistry))
	m.Handle("GET "+b+"/admin/registries/{id}", u.signedIn(u.registryPage))
	m.Handle("POST "+b+"/admin/registries/{id}", u.signedIn(u.updateRegistry))
	m.Handle("POST "+b+"/admin/registries/{id}/delete", u.signedIn(u.deleteRegistry))
	m.Handle("GET "+b+"/admin/replications", u.signedIn(u.replicationsPage))
	m.Handle("POST "+b+"/admin/replications", u.signedIn(u.saveReplication))
	m.Handle("GET "+b+"/admin/replications/new", u.signedIn(u.replicationForm))
	m.Handle("GET "+b+"/admin/replications/{id}", u.signedIn(u.replicationForm))
	m.Handle("POST "+b+"/admin/replications/{id}", u.signedIn(u.saveReplication))
	m.Handle("POST "+b+"/admin/replications/{id}/delete", u.signedIn(u.deleteReplication))
	m.Handle("POST "+b+"/admin/replications/{id}/run", u.signedIn(u.runReplication))
	m.Handle("GET "+b+"/admin/replications/{id}/executions", u.signedIn(u.replExecutionsPage))
	m.Handle("GET "+b+"/admin/replications/{id}/executions/{eid}", u.signedIn(u.replTasksPage))
	m.Handle("POST "+b+"/admin/replications/{id}/executions/{eid}/stop", u.signedIn(u.stopReplication))
	m.Handle("GET "+b+"/admin/replications/{id}/executions/{eid}/tasks/{tid}/log", u.signedIn(u.replTaskLog))
	m.Handle("GET "+b+"/projects/{id}/webhooks", u.signedIn(u.webhooksPage))
	m.Handle("POST "+b+"/projects/{id}/webhooks", u.signedIn(u.saveWebhook))
	m.Handle("GET "+b+"/projects/{id}/webhooks/new", u.signedIn(u.webhookForm))
	m.Handle("GET "+b+"/projects/{id}/webhooks/{wid}", u.signedIn(u.webhookForm))
	m.Handle("POST "+b+"/projects/{id}/webhooks/{wid}", u.signedIn(u.saveWebhook))
	m.Handle("POST "+b+"/projects/{id}/webhooks/{wid}/{action}", u.signedIn(u.webhookAction))
	m.Handle("GET "+b+"/projects/{id}/webhooks/{wid}/deliveries", u.signedIn(u.webhookDeliveriesPage))

	m.Handle(b+"/", u.signedIn(u.notFound))
}

// notFound answers paths the portal does not have.
func (u *UI) notFound(w http.ResponseWriter, r *http.Request, s *session) {
	u.failed(w, r, s, &apiError{Status: http.StatusNotFound, Message: u.cat.text(language(r), "error.notfound")})
}
