package server

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage"
)

// sysAPIOptions wire the API's system groups: /health over the readiness
// checks, /configurations over a settings table and the configuration,
// /systeminfo/volumes and /getcert, and the job service view.
func (s *Server) sysAPIOptions(a *Assembly, cfg Config) ([]api.Option, error) {
	settings, err := openSettings(a.ctx, s.st.db)
	if err != nil {
		return nil, err
	}
	h := &healthChecks{db: s.st.db, blobs: s.st.blobs, jobs: s.jobDB}
	js := newJobService(s.jobs)
	opts := []api.Option{api.WithSettings(settings), api.WithHealth(h), api.WithJobService(js, js)}
	if cfg.Storage.S3.Bucket == "" && cfg.DataDir != "" {
		opts = append(opts, api.WithVolumes(dataVolume{dir: cfg.DataDir}))
	}
	if cfg.TLS.SelfSigned {
		opts = append(opts, api.WithCACert(selfSignedCA{file: filepath.Join(cfg.DataDir, "tls", "ca.crt")}))
	}
	if cfg.LDAP.ConfigFile != "" {
		ldapOpts, ping, err := ldapReport(cfg, s.log)
		if err != nil {
			return nil, err
		}
		opts = append(opts, ldapOpts...)
		h.ldap = ping
	}
	return opts, nil
}

// healthChecks are /health's components: the readiness probe's checks
// (/healthz), the job queue's database and the directory.
type healthChecks struct {
	db    *sqldb.DB
	blobs storage.Blobs
	jobs  *sql.DB                         // the job queue's pool
	ldap  func(ctx context.Context) error // nil without LDAP
}

// healthTimeout bounds each component's check.
const healthTimeout = 5 * time.Second

func (h *healthChecks) Health(ctx context.Context) []api.ComponentHealth {
	checks := []struct {
		name, down string
		check      func(context.Context) error
	}{
		{"database", "database unavailable", func(ctx context.Context) error {
			var one int
			return h.db.QueryRow(ctx, `SELECT 1`).Scan(&one)
		}},
		{"storage", "blob storage unavailable", func(ctx context.Context) error {
			if _, err := h.blobs.Stat(ctx, healthProbe); err != nil && !errors.Is(err, storage.ErrBlobUnknown) {
				return err
			}
			return nil
		}},
		{"jobservice", "job queue unavailable", func(ctx context.Context) error {
			if h.jobs == nil {
				return errors.New("no job queue")
			}
			return h.jobs.PingContext(ctx)
		}},
	}
	if h.ldap != nil {
		checks = append(checks, struct {
			name, down string
			check      func(context.Context) error
		}{"ldap", "LDAP directory unavailable", h.ldap})
	}
	out := make([]api.ComponentHealth, 0, len(checks))
	for _, c := range checks {
		cctx, cancel := context.WithTimeout(ctx, healthTimeout)
		err := c.check(cctx)
		cancel()
		if err != nil {
			out = append(out, api.ComponentHealth{Name: c.name, Status: api.Unhealthy, Error: c.down})
			continue
		}
		out = append(out, api.ComponentHealth{Name: c.name, Status: api.Healthy})
	}
	return out
}

// selfSignedCA is the CA tls.self_signed made (api.CACert).
type selfSignedCA struct{ file string }

func (c selfSignedCA) CACert(context.Context) ([]byte, error) {
	b, err := os.ReadFile(c.file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, core.New(core.ErrNotFound, "no default root certificate yet")
	}
	return b, err
}

// ldapReport reports the LDAP settings of ldap.config under
// /configurations (never the bind password) and returns the directory's
// health check.
func ldapReport(cfg Config, log *slog.Logger) ([]api.Option, func(context.Context) error, error) {
	b, err := os.ReadFile(cfg.LDAP.ConfigFile)
	if err != nil {
		return nil, nil, err
	}
	var f LDAPFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cfg.LDAP.ConfigFile, err)
	}
	const subtree = 2 // Harbor's ldap_scope for a whole-subtree search
	opts := []api.Option{api.WithAuthMode("ldap_auth"),
		api.WithReportedConfig("ldap_url", f.URL), api.WithReportedConfig("ldap_base_dn", f.BaseDN),
		api.WithReportedConfig("ldap_search_dn", f.BindDN), api.WithReportedConfig("ldap_filter", f.UserFilter),
		api.WithReportedConfig("ldap_uid", f.UserAttr), api.WithReportedConfig("ldap_scope", subtree),
		api.WithReportedConfig("ldap_timeout", f.TimeoutSeconds), api.WithReportedConfig("ldap_verify_cert", true),
		api.WithReportedConfig("ldap_group_base_dn", f.GroupBaseDN),
		api.WithReportedConfig("ldap_group_search_filter", f.GroupFilter),
		api.WithReportedConfig("ldap_group_attribute_name", f.GroupNameAttr),
		api.WithReportedConfig("ldap_group_membership_attribute", f.GroupMemberAttr),
		api.WithReportedConfig("ldap_group_search_scope", subtree)}
	dir, err := openLDAP(cfg.LDAP.ConfigFile, cfg.LDAP.BindPassword, log)
	if err != nil {
		return nil, nil, err
	}
	return opts, dir.a.Ping, nil
}
