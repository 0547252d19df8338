package audit_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

func TestRegistrySinkMapping(t *testing.T) {
	d := digest.FromString("manifest")
	at := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	ev := func(a registry.EventAction, target registry.EventTarget, repo, tag, actor string) registry.Event {
		return registry.Event{Action: a, Target: target, Repository: repo, Digest: d, Tag: tag, Actor: actor,
			Time: at, RemoteAddr: "10.1.2.3:4567", UserAgent: "crane/0.20"}
	}
	entry := func(actor, kind, action, typ, resource, project string) *audit.Entry {
		return &audit.Entry{Time: at, Actor: actor, ActorKind: kind, Action: action, ResourceType: typ,
			Resource: resource, Project: project, Result: audit.ResultSuccess,
			RemoteAddr: "10.1.2.3:4567", UserAgent: "crane/0.20"}
	}
	tagged := func(e *audit.Entry) *audit.Entry { e.Detail = "tag pointed to " + d.String(); return e }
	refused := func(e registry.Event, status int, why string) registry.Event {
		e.Status, e.Refused = status, why
		return e
	}
	failed := func(e *audit.Entry, detail string) *audit.Entry {
		e.Result, e.Detail = audit.ResultFailure, detail
		return e
	}
	tests := []struct {
		name  string
		event registry.Event
		want  *audit.Entry // nil: not audited
	}{
		{"manifest push by tag", ev(registry.EventPush, registry.TargetManifest, "library/nginx", "1.25", "alice"),
			entry("alice", audit.KindUser, audit.ActionPush, audit.ResourceArtifact, "library/nginx:1.25@"+d.String(), "library")},
		{"manifest push by digest", ev(registry.EventPush, registry.TargetManifest, "library/nginx", "", "alice"),
			entry("alice", audit.KindUser, audit.ActionPush, audit.ResourceArtifact, "library/nginx@"+d.String(), "library")},
		{"anonymous manifest pull", ev(registry.EventPull, registry.TargetManifest, "team/a/b", "v1", ""),
			entry("anonymous", audit.KindAnonymous, audit.ActionPull, audit.ResourceArtifact, "team/a/b:v1@"+d.String(), "team")},
		{"robot manifest delete", ev(registry.EventDelete, registry.TargetManifest, "team/app", "", "robot$ci"),
			entry("robot$ci", audit.KindRobot, audit.ActionDelete, audit.ResourceArtifact, "team/app@"+d.String(), "team")},
		{"tag delete", ev(registry.EventDelete, registry.TargetTag, "library/nginx", "latest", "bob"),
			tagged(entry("bob", audit.KindUser, audit.ActionDelete, audit.ResourceTag, "library/nginx:latest", "library"))},
		{"blob delete", ev(registry.EventDelete, registry.TargetBlob, "library/nginx", "", "admin"),
			entry("admin", audit.KindUser, audit.ActionDelete, audit.ResourceBlob, "library/nginx@"+d.String(), "library")},
		{"single-component repository", ev(registry.EventPull, registry.TargetManifest, "nginx", "", "bob"),
			entry("bob", audit.KindUser, audit.ActionPull, audit.ResourceArtifact, "nginx@"+d.String(), "nginx")},
		{"blob push skipped", ev(registry.EventPush, registry.TargetBlob, "library/nginx", "", "alice"), nil},
		{"blob pull skipped", ev(registry.EventPull, registry.TargetBlob, "library/nginx", "", "alice"), nil},
		{"blob mount skipped", ev(registry.EventMount, registry.TargetBlob, "library/nginx", "", "alice"), nil},
		{"pull refused by a gate", refused(ev(registry.EventPull, registry.TargetManifest, "team/app", "1", "bob"), 412, "2 critical vulnerabilities"),
			failed(entry("bob", audit.KindUser, audit.ActionPull, audit.ResourceArtifact, "team/app:1@"+d.String(), "team"),
				"refused (412): 2 critical vulnerabilities")},
		{"blob push refused", refused(ev(registry.EventPush, registry.TargetBlob, "team/app", "", "bob"), 403, "no push in team"),
			failed(entry("bob", audit.KindUser, audit.ActionPush, audit.ResourceBlob, "team/app@"+d.String(), "team"),
				"refused (403): no push in team")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := audit.OpenEngine(t, "sqlite")
			s, err := audit.NewStore(t.Context(), db)
			require.NoError(t, err)
			rec := audit.NewRecorder(s)
			audit.RegistrySink(rec).Emit(t.Context(), tt.event)
			require.NoError(t, rec.Close(t.Context()))
			es := all(t, s)
			if tt.want == nil {
				assert.Empty(t, es)
				return
			}
			require.Len(t, es, 1)
			es[0].ID = 0
			assert.Equal(t, *tt.want, es[0])
		})
	}
}

// A cancelled request context does not cost the entry.
func TestRegistrySinkOutlivesRequest(t *testing.T) {
	db := audit.OpenEngine(t, "sqlite")
	s, err := audit.NewStore(t.Context(), db)
	require.NoError(t, err)
	rec := audit.NewRecorder(s, audit.WithQueueSize(1))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	sink := audit.RegistrySink(rec)
	for _, tag := range []string{"a", "b", "c"} {
		sink.Emit(ctx, registry.Event{Action: registry.EventPull, Target: registry.TargetManifest,
			Repository: "library/x", Tag: tag, Digest: digest.FromString(tag)})
	}
	require.NoError(t, rec.Close(t.Context()))
	assert.Len(t, all(t, s), 3)
}

// basicActor names the caller from Basic credentials; without them it
// lets pulls through anonymously and challenges anything else.
type basicActor struct{}

func (basicActor) Authorize(r *http.Request, need []registry.Access) (context.Context, error) {
	if user, _, ok := r.BasicAuth(); ok {
		return registry.WithActor(r.Context(), user), nil
	}
	pullOnly := len(need) > 0
	for _, a := range need {
		pullOnly = pullOnly && len(a.Actions) == 1 && a.Actions[0] == registry.ActionPull
	}
	if pullOnly {
		return r.Context(), nil
	}
	return nil, &registry.Error{Status: http.StatusUnauthorized, Code: registry.CodeUnauthorized,
		Message: "authentication required", Header: http.Header{"Www-Authenticate": {`Basic realm="berth"`}}}
}

// The registry's events, from a real client's push, pulls and deletes,
// land in the audit log of the same database.
func TestRegistrySinkEndToEnd(t *testing.T) {
	audit.OnEngines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s, err := audit.NewStore(ctx, db)
		require.NoError(t, err)
		rec := audit.NewRecorder(s)
		rg, err := registry.New(ctx, memory.New(), db, registry.WithAuthorizer(basicActor{}),
			registry.WithEventSink(audit.RegistrySink(rec)), registry.WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(t, err)
		srv := httptest.NewServer(rg)
		defer srv.Close()

		as := func(user string) remote.Option {
			if user == "" {
				return remote.WithAuth(authn.Anonymous)
			}
			return remote.WithAuth(&authn.Basic{Username: user, Password: "secret"})
		}
		host := strings.TrimPrefix(srv.URL, "http://")
		tag, err := name.NewTag(host+"/library/nginx:1.25", name.Insecure)
		require.NoError(t, err)
		img, err := random.Image(512, 2)
		require.NoError(t, err)
		dg, err := img.Digest()
		require.NoError(t, err)
		byDigest := tag.Context().Digest(dg.String())

		require.NoError(t, remote.Write(tag, img, as("alice"), remote.WithContext(ctx)))
		_, err = remote.Get(tag, as("bob"), remote.WithContext(ctx))
		require.NoError(t, err)
		_, err = remote.Get(byDigest, as(""), remote.WithContext(ctx))
		require.NoError(t, err)
		require.NoError(t, remote.Delete(tag, as("alice"), remote.WithContext(ctx)))
		require.NoError(t, remote.Delete(byDigest, as("alice"), remote.WithContext(ctx)))
		require.NoError(t, rec.Close(ctx))

		type row struct{ Actor, Action, Type, Resource, Project, Result string }
		var got []row
		for _, e := range all(t, s) {
			got = append(got, row{e.Actor, e.Action, e.ResourceType, e.Resource, e.Project, e.Result})
			assert.NotEmpty(t, e.RemoteAddr)
			assert.Contains(t, e.UserAgent, "go-containerregistry")
		}
		ref := "library/nginx@" + dg.String()
		assert.Equal(t, []row{ // newest first; no blob entries
			{"alice", "delete", "artifact", ref, "library", "success"},
			{"alice", "delete", "tag", "library/nginx:1.25", "library", "success"},
			{"anonymous", "pull", "artifact", ref, "library", "success"},
			{"bob", "pull", "artifact", "library/nginx:1.25@" + dg.String(), "library", "success"},
			{"alice", "push", "artifact", "library/nginx:1.25@" + dg.String(), "library", "success"},
		}, got)
	})
}
