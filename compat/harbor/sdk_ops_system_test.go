package harbor_test

import (
	"context"
	"errors"
	"io"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/artifact"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/auditlog"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/configure"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/health"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/icon"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/ldap"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/permissions"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/ping"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/schedule"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/search"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/statistic"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/system_cve_allowlist"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/systeminfo"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

// systemCalls: ping, systeminfo, health, statistic, search, configure,
// permissions, auditlog, SystemCVEAllowlist, icon, schedule and oidc.
func systemCalls() map[string]sdkCall {
	return map[string]sdkCall{
		"getPing": func(ctx context.Context, f *fixture) error {
			got, err := f.c.Ping.GetPing(ctx, ping.NewGetPingParams())
			if err == nil && got.Payload != "Pong" {
				return checkf("ping answered %q", got.Payload)
			}
			return err
		},
		"getSystemInfo": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Systeminfo.GetSystemInfo(ctx, systeminfo.NewGetSystemInfoParams())
			return err
		},
		"getVolumes": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Systeminfo.GetVolumes(ctx, systeminfo.NewGetVolumesParams())
			return err
		},
		"getCert": func(ctx context.Context, f *fixture) error {
			// The test server speaks plain HTTP: Harbor's swagger answers
			// 404 ("Not found the default root certificate") then, and
			// go-client decodes it as GetCertNotFound.
			_, err := f.c.Systeminfo.GetCert(ctx, systeminfo.NewGetCertParams(), io.Discard)
			if _, noCert := errors.AsType[*systeminfo.GetCertNotFound](err); noCert {
				return nil
			}
			return err
		},
		"getHealth": func(ctx context.Context, f *fixture) error {
			got, err := f.c.Health.GetHealth(ctx, health.NewGetHealthParams())
			if err == nil && got.Payload.Status == "" {
				return checkf("health without a status")
			}
			return err
		},
		"getStatistic": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Statistic.GetStatistic(ctx, statistic.NewGetStatisticParams())
			return err
		},
		"search": func(ctx context.Context, f *fixture) error {
			if _, err := f.project(ctx); err != nil {
				return err
			}
			got, err := f.c.Search.Search(ctx, search.NewSearchParams().WithQ("sdk-coverage"))
			if err == nil && len(got.Payload.Project) == 0 {
				return checkf("search found no project")
			}
			return err
		},
		"getConfigurations": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Configure.GetConfigurations(ctx, configure.NewGetConfigurationsParams())
			return err
		},
		"updateConfigurations": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Configure.UpdateConfigurations(ctx, configure.NewUpdateConfigurationsParams().
				WithConfigurations(&models.Configurations{ProjectCreationRestriction: ptr("everyone")}))
			return err
		},
		"getInternalconfig": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Configure.GetInternalconfig(ctx, configure.NewGetInternalconfigParams())
			return err
		},
		"getPermissions": func(ctx context.Context, f *fixture) error {
			got, err := f.c.Permissions.GetPermissions(ctx, permissions.NewGetPermissionsParams())
			if err == nil && len(got.Payload.Project) == 0 {
				return checkf("no project permission")
			}
			return err
		},
		"listAuditLogs": func(ctx context.Context, f *fixture) error {
			if _, err := f.project(ctx); err != nil {
				return err
			}
			_, err := f.c.Auditlog.ListAuditLogs(ctx, auditlog.NewListAuditLogsParams())
			return err
		},
		"listAuditLogExts": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Auditlog.ListAuditLogExts(ctx, auditlog.NewListAuditLogExtsParams())
			return err
		},
		"listAuditLogEventTypes": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Auditlog.ListAuditLogEventTypes(ctx, auditlog.NewListAuditLogEventTypesParams())
			return err
		},
		"getSystemCVEAllowlist": func(ctx context.Context, f *fixture) error {
			_, err := f.c.SystemCVEAllowlist.GetSystemCVEAllowlist(ctx, system_cve_allowlist.NewGetSystemCVEAllowlistParams())
			return err
		},
		"putSystemCVEAllowlist": func(ctx context.Context, f *fixture) error {
			_, err := f.c.SystemCVEAllowlist.PutSystemCVEAllowlist(ctx, system_cve_allowlist.NewPutSystemCVEAllowlistParams().
				WithAllowlist(&models.CVEAllowlist{Items: []*models.CVEAllowlistItem{{CVEID: "CVE-2020-0001"}}}))
			return err
		},
		"getIcon": func(ctx context.Context, f *fixture) error {
			p, d, err := f.image(ctx)
			if err != nil {
				return err
			}
			art, err := f.c.Artifact.GetArtifact(ctx, artifact.NewGetArtifactParams().WithProjectName(p.name).
				WithRepositoryName("app").WithReference(d))
			if err != nil {
				return setup("getArtifact", err)
			}
			if art.Payload.Icon == "" {
				return setup("getArtifact", errors.New("the image artifact names no icon"))
			}
			_, err = f.c.Icon.GetIcon(ctx, icon.NewGetIconParams().WithDigest(art.Payload.Icon))
			return err
		},
		"listSchedules": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Schedule.ListSchedules(ctx, schedule.NewListSchedulesParams())
			return err
		},
		"getSchedulePaused": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Schedule.GetSchedulePaused(ctx, schedule.NewGetSchedulePausedParams().WithJobType("all"))
			return err
		},
	}
}

// ldapCalls: the Ldap tag, against the test server's directory (slapd,
// see startLDAP; skipped without it).
func ldapCalls() map[string]sdkCall {
	return map[string]sdkCall{
		"pingLdap": func(ctx context.Context, f *fixture) error {
			// No settings: the configured directory.
			got, err := f.c.Ldap.PingLdap(ctx, ldap.NewPingLdapParams().WithLdapconf(&models.LdapConf{}))
			if err == nil && !got.Payload.Success {
				return checkf("ping of the configured directory failed: %s", got.Payload.Message)
			}
			return err
		},
		"searchLdapUser": func(ctx context.Context, f *fixture) error {
			got, err := f.c.Ldap.SearchLdapUser(ctx, ldap.NewSearchLdapUserParams().WithUsername(ptr(ldapUser)))
			if err == nil && len(got.Payload) == 0 {
				return checkf("%s not found in the directory", ldapUser)
			}
			return err
		},
		"searchLdapGroup": func(ctx context.Context, f *fixture) error {
			got, err := f.c.Ldap.SearchLdapGroup(ctx, ldap.NewSearchLdapGroupParams().WithGroupname(ptr("devs")))
			if err == nil && len(got.Payload) == 0 {
				return checkf("group devs not found in the directory")
			}
			return err
		},
		"importLdapUser": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Ldap.ImportLdapUser(ctx, ldap.NewImportLdapUserParams().
				WithUIDList(&models.LdapImportUsers{LdapUIDList: []string{"bob"}}))
			return err
		},
	}
}
