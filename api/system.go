package api

import (
	"net/http"
	"strconv"
)

// GeneralInfo is what /systeminfo tells about the server, in Harbor's
// shape. Features berth does not have are reported off.
type GeneralInfo struct {
	HarborVersion              string `json:"harbor_version" doc:"berth's version"`
	AuthMode                   string `json:"auth_mode" doc:"db_auth or ldap_auth"`
	RegistryURL                string `json:"registry_url" doc:"Host that docker and other clients push to"`
	ExternalURL                string `json:"external_url,omitempty"`
	ProjectCreationRestriction string `json:"project_creation_restriction" doc:"everyone or adminonly"`
	SelfRegistration           bool   `json:"self_registration"`
	HasCARoot                  bool   `json:"has_ca_root"`
	ReadOnly                   bool   `json:"read_only"`
	WithNotary                 bool   `json:"with_notary"`
	WithChartmuseum            bool   `json:"with_chartmuseum"`
	NotificationEnable         bool   `json:"notification_enable"`
}

func (a *API) ping(c *call) error {
	c.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	c.w.Header().Set("Content-Length", "4")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write([]byte("Pong"))
	return nil
}

func (a *API) systemInfo(c *call) error {
	creation, err := a.creationRestriction(c.ctx())
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, GeneralInfo{
		HarborVersion:              a.cfg.version,
		AuthMode:                   a.cfg.authMode,
		RegistryURL:                a.cfg.registryURL,
		ExternalURL:                a.cfg.externalURL,
		ProjectCreationRestriction: creation,
	})
}

// sysRoutes are the system groups: health, statistics, search,
// configurations, system volumes and certificate, schedules, the job
// service and the extended audit log.
func (a *API) sysRoutes() []route {
	var out []route
	for _, group := range [][]route{a.healthRoutes(), a.statisticRoutes(), a.searchRoutes(), a.configurationRoutes(),
		a.systemInfoRoutes(), a.scheduleRoutes(), a.jobServiceRoutes(), a.auditLogExtRoutes()} {
		out = append(out, group...)
	}
	return out
}

func (a *API) openAPIDoc(c *call) error {
	c.w.Header().Set("Content-Type", "application/json")
	c.w.Header().Set("Content-Length", strconv.Itoa(len(a.doc)))
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(a.doc)
	return nil
}
