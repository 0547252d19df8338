package server

import (
	"context"
	"net/url"
	"strings"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/immutable"
	"github.com/berthlabs/berth/label"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/retention"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/webhook"
)

// wireRetention adds tag retention: one policy a project in the server's
// database, executions as durable jobs on the server's queue, the
// schedule, the /retentions API, its metrics and the project-deletion
// cascade. Executions keep what the immutability rules protect and read
// the artifacts' labels for the rules that select by label; with
// webhooks on, a finished execution is a TAG_RETENTION event. Policies
// belong to projects, so they need auth on.
func wireRetention(a *Assembly) error {
	if !a.Auth() {
		return nil
	}
	// Executions keep what the projects' immutability rules protect, read
	// afresh by each (a rule added a moment ago counts), whether or not
	// the immutability feature is on now: rules stored while it was on
	// still protect, which errs on keeping.
	rules, err := immutable.NewStore(a.Context(), a.DB(), immutable.WithCacheTTL(0))
	if err != nil {
		return err
	}
	// Rules' label selectors read the labels the artifacts carry, from
	// the label store on the server's database (its migrations are
	// idempotent; the labels feature opens it too): labels attached while
	// that feature was on still count.
	labels, err := label.New(a.Context(), a.DB())
	if err != nil {
		return err
	}
	opts := []retention.ServiceOption{retention.WithLogger(a.Logger().With("component", "retention")),
		retention.WithImmutable(rules), retention.WithArtifactLabels(retentionLabels{labels})}
	if a.webhooks != nil {
		opts = append(opts, retention.WithNotifier(retentionEvents(a)))
	}
	svc, err := retention.New(a.Context(), a.DB(), a.Registry(), a.Projects(), a.Jobs(), opts...)
	if err != nil {
		return err
	}
	if err := svc.Register(a.Workers()); err != nil {
		return err
	}
	if err := svc.Start(a.Context()); err != nil {
		return err
	}
	a.AddCloser(svc.Close)
	a.OnProjectDelete(func(ctx context.Context, tx *sqldb.Tx, p project.Project) error {
		return svc.ForgetProject(ctx, tx, p.ID)
	})
	if days := a.Config().ProxyCache.RetentionDays; a.proxy != nil && days > 0 {
		a.id.projectCreated = append(a.id.projectCreated, defaultRetention(svc, a.Projects(), days, a.Logger()))
	}
	a.AddAPIOptions(api.WithRetention(svc))
	a.AddMetrics(svc.Collector())
	return nil
}

// retentionEvents queues a TAG_RETENTION event for a project's webhooks
// when an execution finishes, through the webhook feature's service.
func retentionEvents(a *Assembly) retention.Notifier {
	host := ""
	if u, err := url.Parse(a.Config().ExternalURL); err == nil {
		host = u.Host
	}
	events, log := a.webhooks, a.Logger().With("component", "retention")
	return func(ctx context.Context, projectID int64, s retention.Summary) {
		e := webhook.Event{Type: webhook.TagRetention, ProjectID: projectID, ProjectName: s.ProjectName,
			Operator: s.Trigger, Retention: retentionDetail(host, s)}
		if err := events.Emit(ctx, e); err != nil {
			log.WarnContext(ctx, "retention: queueing the TAG_RETENTION event", "execution", s.ExecutionID, "err", err)
		}
	}
}

// retentionDetail is Harbor's event_data.retention of an execution.
func retentionDetail(host string, s retention.Summary) *webhook.RetentionDetail {
	d := &webhook.RetentionDetail{Total: s.Total, Retained: s.Retained, HarborHostname: host, ProjectName: s.ProjectName,
		RetentionPolicyID: s.PolicyID, Status: strings.ToUpper(s.Status)}
	for _, r := range s.Rules {
		rule := webhook.RetentionRule{Template: r.Template, ScopeSelectors: map[string][]webhook.Selector{}}
		if p := r.Param(); p != 0 || len(r.Params) > 0 {
			rule.Parameters = map[string]any{r.Template: p}
		}
		for _, sel := range r.TagSelectors {
			extras := `{"untagged":false}`
			if sel.Untagged {
				extras = `{"untagged":true}`
			}
			rule.TagSelectors = append(rule.TagSelectors, webhook.Selector{Kind: "doublestar", Decoration: sel.Decoration,
				Pattern: sel.Pattern, Extras: extras})
		}
		for _, sel := range r.LabelSelectors {
			rule.TagSelectors = append(rule.TagSelectors, webhook.Selector{Kind: retention.LabelKind, Decoration: sel.Decoration,
				Pattern: strings.Join(sel.Labels, ",")})
		}
		for _, sel := range r.ScopeSelectors {
			rule.ScopeSelectors["repository"] = append(rule.ScopeSelectors["repository"],
				webhook.Selector{Kind: "doublestar", Decoration: sel.Decoration, Pattern: sel.Pattern})
		}
		d.RetentionRules = append(d.RetentionRules, rule)
	}
	for _, a := range s.Deleted {
		name := strings.TrimPrefix(a.Repository, s.ProjectName+"/")
		ref := name + "@" + a.Digest
		if len(a.Tags) > 0 {
			ref = name + ":" + a.Tags[0]
		}
		d.DeletedArtifact = append(d.DeletedArtifact, webhook.ArtifactInfo{Type: "image", Status: "SUCCESS", NameAndTag: ref})
	}
	return d
}
