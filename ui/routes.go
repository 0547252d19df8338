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

	// Administration.
	m.Handle("GET "+b+"/admin/gc", u.signedIn(u.gcPage))
	m.Handle("POST "+b+"/admin/gc/run", u.signedIn(u.runGC))
	m.Handle("POST "+b+"/admin/gc/schedule", u.signedIn(u.scheduleGC))
	m.Handle("GET "+b+"/admin/gc/{id}", u.signedIn(u.gcRunPage))
	m.Handle("POST "+b+"/admin/gc/{id}/stop", u.signedIn(u.stopGC))
	m.Handle("GET "+b+"/admin/audit", u.signedIn(u.auditPage))
	m.Handle("GET "+b+"/admin/audit/export.csv", u.signedIn(u.exportAudit))
	m.Handle("GET "+b+"/logs", u.signedIn(u.logsPage))
	m.Handle("GET "+b+"/logs/export.csv", u.signedIn(u.exportLogs))
	m.Handle("GET "+b+"/admin/scanners", u.signedIn(u.scannersPage))
	m.Handle("POST "+b+"/admin/scanners", u.signedIn(u.createScanner))
	m.Handle("POST "+b+"/admin/scanners/scan-all", u.signedIn(u.scanAll))
	m.Handle("POST "+b+"/admin/scanners/schedule", u.signedIn(u.scheduleScanAll))
	m.Handle("POST "+b+"/admin/scanners/allowlist", u.signedIn(u.saveAllowlist))
	m.Handle("POST "+b+"/admin/scanners/{uuid}", u.signedIn(u.scannerAction))
	m.Handle("GET "+b+"/admin/quotas", u.signedIn(u.quotasPage))
	m.Handle("POST "+b+"/admin/quotas/{id}", u.signedIn(u.updateQuota))
	m.Handle("GET "+b+"/admin/labels", u.signedIn(u.labelsPage))
	m.Handle("POST "+b+"/admin/labels", u.signedIn(u.createLabel))
	m.Handle("POST "+b+"/admin/labels/{id}", u.signedIn(u.updateLabel))
	m.Handle("POST "+b+"/admin/labels/{id}/delete", u.signedIn(u.deleteLabel))
	m.Handle("GET "+b+"/admin/config", u.signedIn(u.configPage))
	m.Handle("POST "+b+"/admin/config", u.signedIn(u.saveConfig))

	m.Handle(b+"/", u.signedIn(u.notFound))
}

// notFound answers paths the portal does not have.
func (u *UI) notFound(w http.ResponseWriter, r *http.Request, s *session) {
	u.failed(w, r, s, &apiError{Status: http.StatusNotFound, Message: u.cat.text(language(r), "error.notfound")})
}
