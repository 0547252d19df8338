package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/auth/ldap"
	"github.com/berthlabs/berth/auth/session"
	"github.com/berthlabs/berth/auth/token"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
)

// systemActor names the server itself in audit entries; parentheses
// cannot appear in user names, so it is never mistaken for a user.
var systemActor = registry.SystemActor("")

// LibraryProject is the public project a server creates at its first
// start (Config.LibraryProject).
const LibraryProject = "library"

// identity is everything "who may do what" in the reference server: users,
// robots, projects, the audit log, the token service and the Gatekeeper
// that joins them, all on the store's database.
type identity struct {
	users    *auth.Users
	robots   *auth.Robots
	projects *project.Store
	audit    *audit.Store
	recorder *audit.Recorder
	tokens   *token.Service
	gk       *auth.Gatekeeper
	// projectDeleted are told of each deleted project, after the commit;
	// features keeping per-project settings by name add themselves here.
	projectDeleted []func(ctx context.Context, project string)
	// projectCreated are told of each created project, after the commit.
	projectCreated []func(ctx context.Context, c project.Change)
	// systemNames name, for the audit log, accounts the server made for
	// its own work (a scanner's throwaway robot): they return the
	// SystemActor an event of such an actor is recorded under.
	systemNames []func(actor string) (string, bool)
	// projectChanged hear the name of each project changed or deleted,
	// here or on another node, after the commit (caches keyed by name);
	// "" means any project may have changed.
	projectChanged []func(name string)
	changes        *changes // announced to and heard from other nodes
	sessions       *session.Manager
	// directory is the LDAP directory users log in against (nil: none).
	directory *ldap.Authenticator

	// oidc is the OIDC login (oidc.go); nil unless in OIDC auth mode.
	oidc *oidcLogin
}

// registrySink records registry events in the audit log, filing the
// server's own throwaway accounts under the work they did.
func (id *identity) registrySink() registry.EventSink {
	sink := audit.RegistrySink(id.recorder)
	return registry.EventSinkFunc(func(ctx context.Context, e registry.Event) {
		for _, name := range id.systemNames {
			if sys, ok := name(e.Actor); ok {
				e.Actor = sys
				break
			}
		}
		sink.Emit(ctx, e)
	})
}

// openIdentity builds the identity stores. counter tells how many
// repositories a project holds (the registry, built later).
func openIdentity(ctx context.Context, st *store, cfg Config, log *slog.Logger,
	counter func(ctx context.Context, project string) (int, error)) (*identity, error) {
	id := &identity{}
	var err error
	// Audit entries and robots are keyed by project id; the project store
	// is opened below (its hooks record into the audit log).
	projectIDs := lazyProjectIDs(func() *project.Store { return id.projects })
	if id.audit, err = audit.NewStore(ctx, st.db, audit.WithProjects(projectIDs)); err != nil {
		return nil, err
	}
	id.recorder = audit.NewRecorder(id.audit, audit.WithLogger(log))
	// Changes invalidate cached credentials and the policy, and are audited.
	id.changes = st.changes
	changed := func(ctx context.Context, e audit.Entry) {
		if id.gk != nil {
			id.gk.Invalidate()
		}
		id.changes.announce(ctx, changeIdentity)
		e.Actor = registry.ActorFrom(ctx)
		if err := id.recorder.Record(context.WithoutCancel(ctx), e); err != nil {
			log.Error("audit", "err", err, "action", e.Action)
		}
	}
	if id.users, err = auth.NewUsers(ctx, st.db, auth.WithChangeHook(func(ctx context.Context, c auth.Change) {
		changed(ctx, authEntry(c))
		id.endSessions(ctx, c, log)
	}), auth.WithChangeHook(id.forgetOIDCUser)); err != nil {
		return nil, err
	}
	if id.robots, err = auth.NewRobots(ctx, st.db, auth.WithProjects(projectIDs), auth.WithChangeHook(func(ctx context.Context, c auth.Change) {
		changed(ctx, authEntry(c))
	})); err != nil {
		return nil, err
	}
	if id.projects, err = project.NewStore(ctx, st.db, project.WithRepositoryCounter(counter),
		project.WithChangeHook(func(ctx context.Context, c project.Change) {
			changed(ctx, projectEntry(c))
			for _, f := range id.projectChanged {
				f(c.Project)
			}
			id.changes.announce(ctx, changeProject+c.Project)
			if c.Kind == project.ProjectDeleted {
				for _, f := range id.projectDeleted {
					f(ctx, c.Project)
				}
			}
			if c.Kind == project.ProjectCreated {
				for _, f := range id.projectCreated {
					f(ctx, c)
				}
			}
		})); err != nil {
		return nil, err
	}
	// A project's robots go with it, in the deleting transaction.
	id.projects.OnDelete(func(ctx context.Context, tx *sqldb.Tx, p project.Project) error {
		_, err := id.robots.ForgetProject(ctx, tx, p.ID, p.Name)
		return err
	})
	created, err := bootstrapAdmin(ctx, id.users, cfg.AdminPassword, cfg.DataDir, log)
	if err != nil {
		return nil, err
	}
	if created && cfg.LibraryProject {
		// First start: a public "library" project, as in Harbor, so that
		// a first push needs no API call. Deleted later, it stays deleted.
		if _, err := id.projects.Create(registry.WithActor(ctx, systemActor), project.Project{Name: LibraryProject,
			Public: true, Owner: auth.DefaultAdminName}); err != nil && !errors.Is(err, project.ErrExists) {
			return nil, fmt.Errorf("creating the %q project: %w", LibraryProject, err)
		}
	}
	tokenOpts, err := tokenKeys(ctx, st, cfg)
	if err != nil {
		return nil, err
	}
	// Harbor's clients name Harbor's service; tokens still name berth's.
	if id.tokens, err = token.New(cfg.ExternalURL, tokenService, append(tokenOpts, token.WithLogger(log),
		token.WithServiceAliases(token.HarborService))...); err != nil {
		return nil, err
	}
	opts := []auth.GatekeeperOption{auth.WithGatekeeperLogger(log), auth.WithLoginObserver(id.observeLogin(log))}
	if !cfg.LoginThrottle {
		opts = append(opts, auth.WithLoginThrottle(auth.LoginThrottle{}))
	}
	if cfg.LDAP.ConfigFile != "" {
		dir, err := openLDAP(cfg.LDAP.ConfigFile, cfg.LDAP.BindPassword, log)
		if err != nil {
			return nil, err
		}
		opts = append(opts, auth.WithExternalAuthenticator(dir))
		id.directory = dir.a
	}
	if id.sessions, err = openSessions(ctx, st, cfg, log); err != nil {
		return nil, err
	}
	opts = append(opts, auth.WithSessions(id.sessions))
	if id.oidc, err = openOIDC(ctx, st, cfg, id.users, id.sessions, log); err != nil {
		return nil, err
	} else if id.oidc != nil {
		opts = append(opts, auth.WithExternalAuthenticator(id.oidc.svc), auth.WithExternalGroups(id.oidc.svc))
	}
	id.gk = auth.NewGatekeeper(id.users, id.robots, id.projects, auth.NewPolicy(api.PolicyLoader(id.projects, id.robots), publicPermissions()),
		id.tokens, tokenRealm(cfg.ExternalURL), opts...)
	return id, nil
}

// lazyProjectIDs resolves project ids through the project store once it
// is open.
type lazyProjectIDs func() *project.Store

func (l lazyProjectIDs) ProjectID(ctx context.Context, name string) (int64, bool, error) {
	s := l()
	if s == nil {
		return 0, false, errors.New("the project store is not open yet")
	}
	return s.ProjectID(ctx, name)
}

// tokenKeys signs with <data>/token.key (created on first start) and also
// accepts tokens signed by keys in <data>/token-retired/*.key. To rotate:
// move token.key into token-retired/ and restart; a new key signs from then
// on while tokens already issued stay valid until they expire; remove the
// retired key after the token lifetime (5 minutes).
//
// On a shared database, or without a data directory, the keys live in the database, sealed with the
// secret key, when a secret key file is configured: processes sharing the
// database and that file (the nodes of a scale-out installation) then
// accept each other's tokens. Otherwise the key is this process's alone.
func tokenKeys(ctx context.Context, st *store, cfg Config) ([]token.Option, error) {
	if cfg.SecretKeyFile != "" && (cfg.DataDir == "" || !st.db.Exclusive()) {
		secret, err := st.secret(cfg)
		if err != nil {
			return nil, err
		}
		keys, err := auth.NewTokenKeys(ctx, st.db, secret)
		if err != nil {
			return nil, err
		}
		signer, retired, err := keys.Load(ctx)
		if err != nil {
			return nil, err
		}
		opts := []token.Option{token.WithSigningKey(signer, "")}
		for _, pub := range retired {
			opts = append(opts, token.WithVerificationKey(pub, ""))
		}
		return opts, nil
	}
	if cfg.DataDir == "" { // an embedded server: a key for this process only
		key, err := token.GenerateKey()
		if err != nil {
			return nil, err
		}
		return []token.Option{token.WithSigningKey(key, "")}, nil
	}
	key, err := token.LoadOrCreateKey(filepath.Join(cfg.DataDir, "token.key"))
	if err != nil {
		return nil, err
	}
	opts := []token.Option{token.WithSigningKey(key, "")}
	retired, err := filepath.Glob(filepath.Join(cfg.DataDir, "token-retired", "*.key"))
	if err != nil {
		return nil, err
	}
	for _, path := range retired {
		old, err := token.LoadKey(path)
		if err != nil {
			return nil, fmt.Errorf("retired token key: %w", err)
		}
		opts = append(opts, token.WithVerificationKey(old.Public(), ""))
	}
	return opts, nil
}

// publicPermissions is what anyone may do in a public project: pull images
// and, as in Harbor, read its Helm charts.
func publicPermissions() rbac.Option {
	return rbac.WithPublicPermissions(append(rbac.DefaultPublicPermissions(),
		rbac.Permission{Resource: rbac.ResourceHelmChart, Action: rbac.ActionRead},
		rbac.Permission{Resource: rbac.ResourceHelmChart, Action: rbac.ActionList},
		rbac.Permission{Resource: rbac.ResourceHelmChartVersion, Action: rbac.ActionRead},
		rbac.Permission{Resource: rbac.ResourceHelmChartVersion, Action: rbac.ActionList})...)
}

// tokenService is the "service" the token endpoint issues tokens for.
const tokenService = "berth"

func tokenRealm(externalURL string) string {
	u, err := url.Parse(externalURL)
	if err != nil {
		return externalURL + "/service/token"
	}
	return u.JoinPath("service", "token").String()
}

// bootstrapAdmin creates the first system admin when there is none, and
// reports whether it did. The password is the configured one (from
// admin_password or BERTH_ADMIN_PASSWORD); without one a random one is
// generated and written to <data>/initial-admin-password (0600), whose
// path alone is logged, so there is never a built-in default password and
// the password never lands in a log collector.
func bootstrapAdmin(ctx context.Context, users *auth.Users, password, dataDir string, log *slog.Logger) (bool, error) {
	generated := false
	if password == "" {
		has, err := hasAdmin(ctx, users)
		if err != nil || has {
			return false, err
		}
		password, generated = rand.Text(), true
	}
	var file string
	if generated {
		// Written before the account exists: a crash in between leaves a
		// file for an admin that is not there, never an admin whose
		// password is lost.
		file = filepath.Join(dataDir, initialAdminPasswordFile)
		if err := os.WriteFile(file, []byte(password+"\n"), 0o600); err != nil {
			return false, fmt.Errorf("writing the first admin's password: %w", err)
		}
	}
	created, err := users.Bootstrap(registry.WithActor(ctx, systemActor), auth.DefaultAdminName, password)
	if err != nil {
		return false, fmt.Errorf("creating the first admin (set admin_password or %sADMIN_PASSWORD): %w", EnvPrefix, err)
	}
	if created && generated {
		log.Warn("created the first system admin with a generated password; read it from the file, change it after logging in, then delete the file",
			"user", auth.DefaultAdminName, "password_file", file)
	} else if created {
		log.Info("created the first system admin", "user", auth.DefaultAdminName)
	}
	return created, nil
}

// initialAdminPasswordFile holds a generated first admin password.
const initialAdminPasswordFile = "initial-admin-password"

func hasAdmin(ctx context.Context, users *auth.Users) (bool, error) {
	u, err := users.Get(ctx, auth.DefaultAdminName)
	if errors.Is(err, auth.ErrNotFound) {
		return false, nil
	}
	return err == nil && u.SystemAdmin, err
}

// close flushes the audit log.
func (id *identity) close(log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := id.recorder.Close(ctx); err != nil {
		log.Error("audit log not fully written", "err", err)
	}
}
