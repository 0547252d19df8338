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

	// Policy (tag retention and immutability).
	pol := b + "/projects/{id}/policy"
	m.Handle("GET "+pol, u.signedIn(u.policyPage))
	m.Handle("GET "+pol+"/retention/rules/{n}", u.signedIn(u.retentionRulePage))
	m.Handle("POST "+pol+"/retention/rules", u.signedIn(u.saveRetentionRule))
	m.Handle("POST "+pol+"/retention/rules/{n}", u.signedIn(u.saveRetentionRule))
	m.Handle("POST "+pol+"/retention/rules/{n}/delete", u.signedIn(u.changeRetentionRule))
	m.Handle("POST "+pol+"/retention/rules/{n}/toggle", u.signedIn(u.changeRetentionRule))
	m.Handle("POST "+pol+"/retention/schedule", u.signedIn(u.saveRetentionSchedule))
	m.Handle("POST "+pol+"/retention/run", u.signedIn(u.runRetention))
	m.Handle("GET "+pol+"/retention/executions/{eid}", u.signedIn(u.executionPage))
	m.Handle("POST "+pol+"/retention/executions/{eid}/stop", u.signedIn(u.stopRetention))
	m.Handle("GET "+pol+"/retention/executions/{eid}/tasks/{tid}", u.signedIn(u.taskLogPage))
	m.Handle("GET "+pol+"/immutability/rules/{rid}", u.signedIn(u.immutableRulePage))
	m.Handle("POST "+pol+"/immutability/rules", u.signedIn(u.saveImmutableRule))
	m.Handle("POST "+pol+"/immutability/rules/{rid}", u.signedIn(u.saveImmutableRule))
	m.Handle("POST "+pol+"/immutability/rules/{rid}/delete", u.signedIn(u.changeImmutableRule))
	m.Handle("POST "+pol+"/immutability/rules/{rid}/toggle", u.signedIn(u.changeImmutableRule))
	// Project pages: summary, labels, scanner, logs, configuration.
	m.Handle("GET "+b+"/projects/{id}/summary", u.signedIn(u.projSummaryPage))
	m.Handle("POST "+b+"/projects/{id}/summary/delete", u.signedIn(u.projDelete))
	m.Handle("GET "+b+"/projects/{id}/labels", u.signedIn(u.projLabelsPage))
	m.Handle("POST "+b+"/projects/{id}/labels", u.signedIn(u.projCreateLabel))
	m.Handle("POST "+b+"/projects/{id}/labels/{label}", u.signedIn(u.projEditLabel))
	m.Handle("POST "+b+"/projects/{id}/labels/{label}/delete", u.signedIn(u.projDeleteLabel))
	m.Handle("GET "+b+"/projects/{id}/scanner", u.signedIn(u.projScannerPage))
	m.Handle("POST "+b+"/projects/{id}/scanner", u.signedIn(u.projSetScanner))
	m.Handle("GET "+b+"/projects/{id}/logs", u.signedIn(u.projLogsPage))
	m.Handle("GET "+b+"/projects/{id}/config", u.signedIn(u.projConfigPage))
	m.Handle("POST "+b+"/projects/{id}/config", u.signedIn(u.projSaveConfig))
	// People: members, robot accounts, users, groups, OIDC onboarding.
	m.Handle("GET "+b+"/projects/{id}/members", u.signedIn(u.membersPage))
	m.Handle("POST "+b+"/projects/{id}/members", u.signedIn(u.addMember))
	m.Handle("POST "+b+"/projects/{id}/members/{mid}/role", u.signedIn(u.setMemberRole))
	m.Handle("POST "+b+"/projects/{id}/members/{mid}/delete", u.signedIn(u.removeMember))
	m.Handle("GET "+b+"/projects/{id}/robots", u.signedIn(u.robotsPage))
	m.Handle("POST "+b+"/projects/{id}/robots", u.signedIn(u.createRobot))
	m.Handle("POST "+b+"/projects/{id}/robots/{rid}/{action}", u.signedIn(u.robotAction))
	m.Handle("GET "+b+"/admin/robots", u.signedIn(u.robotsPage))
	m.Handle("POST "+b+"/admin/robots", u.signedIn(u.createRobot))
	m.Handle("POST "+b+"/admin/robots/{rid}/{action}", u.signedIn(u.robotAction))
	m.Handle("GET "+b+"/admin/users", u.signedIn(u.usersPage))
	m.Handle("POST "+b+"/admin/users", u.signedIn(u.createUser))
	m.Handle("POST "+b+"/admin/users/{uid}/{action}", u.signedIn(u.userAction))
	m.Handle("GET "+b+"/admin/groups", u.signedIn(u.groupsPage))
	m.Handle("POST "+b+"/admin/groups", u.signedIn(u.createGroup))
	m.Handle("POST "+b+"/admin/groups/{gid}/delete", u.signedIn(u.deleteGroup))
	m.HandleFunc("GET "+b+"/oidc-onboard", u.onboardPage)
	m.HandleFunc("POST "+b+"/oidc-onboard", u.onboard)
	// Artifact detail.
	m.Handle("GET "+b+"/projects/{id}/artifact", u.signedIn(u.artifactPage))
	m.Handle("GET "+b+"/projects/{id}/artifact/sbom", u.signedIn(u.downloadSBOM))
	m.Handle("POST "+b+"/projects/{id}/artifact/{action}", u.signedIn(u.artifactAction))
	// Repositories and artifacts.
	m.Handle("GET "+b+"/projects/{id}/repositories", u.signedIn(u.reposPage))
	m.Handle("GET "+b+"/projects/{id}/repositories/{repo...}", u.signedIn(u.artifactsPage))
	m.Handle("POST "+b+"/projects/{id}/repositories/{repo...}", u.signedIn(u.repoPost))
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

	// Paths nobody serves answer 404 at once, signed in or not (the
	// portal owns the server's root: a probe of /metrics or /debug/ must
	// not look like a login page).
	m.HandleFunc(b+"/", func(w http.ResponseWriter, r *http.Request) { u.notFound(w, r, nil) })
}

// notFound answers paths the portal does not have.
func (u *UI) notFound(w http.ResponseWriter, r *http.Request, s *session) {
	u.failed(w, r, s, &apiError{Status: http.StatusNotFound, Message: u.cat.text(language(r), "error.notfound")})
}
