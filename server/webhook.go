package server

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/webhook"
)

// backoff waits base after the first failure, doubling up to an hour.
func backoff(base time.Duration) func(attempt int) time.Duration {
	return func(attempt int) time.Duration {
		d := max(base, time.Second)
		for i := 1; i < attempt && d < time.Hour; i++ {
			d *= 2
		}
		return min(d, time.Hour)
	}
}

// wireWebhooks adds project webhooks: policies and deliveries in the
// server's database, deliveries as durable jobs, registry events as their
// source, the API, and the project-deletion cascade. Webhooks belong to
// projects, so they need auth on.
func wireWebhooks(a *Assembly) error {
	if !a.Auth() {
		return nil
	}
	key, err := a.SecretKey()
	if err != nil {
		return err
	}
	host := ""
	if u, err := url.Parse(a.Config().ExternalURL); err == nil {
		host = u.Host
	}
	projects := a.Projects()
	lookup := func(ctx context.Context, id int64) (string, bool, bool, error) {
		p, err := projects.GetByID(ctx, id)
		if errors.Is(err, project.ErrNotFound) {
			return "", false, false, nil
		}
		return p.Name, p.Public, err == nil, err
	}
	svc, err := webhook.NewService(a.Context(), a.DB(), webhook.WithQueue(a.Jobs()), webhook.WithProjects(projects),
		webhook.WithProjectLookup(lookup), webhook.WithSecretKey(key), webhook.WithRegistryHost(host),
		webhook.WithLogger(a.Logger().With("component", "webhook")), webhook.WithBackoff(backoff(a.Config().Webhooks.RetryBackoff)))
	if err != nil {
		return err
	}
	if err := svc.Register(a.Workers()); err != nil {
		return err
	}
	a.AddEventSink(svc.Sink())
	a.OnProjectDelete(func(ctx context.Context, tx *sqldb.Tx, p project.Project) error {
		return svc.ForgetProject(ctx, tx, p.ID)
	})
	a.AddAPIOptions(api.WithWebhooks(svc))
	a.webhooks = svc
	if a.quotas != nil { // QUOTA_WARNING and QUOTA_EXCEED
		a.quotas.notify = append(a.quotas.notify, func(ctx context.Context, n registry.QuotaNotice) {
			id, ok, err := projects.ProjectID(ctx, n.Project)
			if err != nil || !ok {
				return
			}
			t := webhook.QuotaWarning
			if n.Exceeded {
				t = webhook.QuotaExceed
			}
			if err := svc.Emit(ctx, webhook.Event{Type: t, ProjectID: id, ProjectName: n.Project, Repository: n.Repository,
				Operator: registry.ActorFrom(ctx), Quota: &webhook.QuotaDetail{Message: quotaMessage(n)}}); err != nil {
				a.Logger().Warn("webhook: quota event", "err", err)
			}
		})
	}
	// Deliveries whose jobs a crash lost are queued again.
	if n, err := svc.Resume(a.Context()); err != nil {
		return err
	} else if n > 0 {
		a.Logger().Info("webhook deliveries queued again", "count", n)
	}
	return nil
}
