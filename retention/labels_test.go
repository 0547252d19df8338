package retention_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/label"
	"github.com/berthlabs/berth/retention"
)

func withLabels(names ...string) retention.LabelSelector {
	return retention.LabelSelector{Decoration: retention.WithLabels, Labels: names}
}

func withoutLabels(names ...string) retention.LabelSelector {
	return retention.LabelSelector{Decoration: retention.WithoutLabels, Labels: names}
}

func labelled(a retention.Artifact, names ...string) retention.Artifact {
	a.Labels = names
	return a
}

func TestLabelSelectors(t *testing.T) {
	index := func(a retention.Artifact, children ...string) retention.Artifact { a.Children = children; return a }
	arts := []retention.Artifact{
		labelled(art("sha256:a", 1*day, "v1"), "keep", "prod"),
		labelled(art("sha256:b", 2*day, "v2"), "keep"),
		labelled(art("sha256:c", 3*day, "dev-1"), "prod"),
		art("sha256:d", 4*day), // untagged, no labels
		// An index labelled as a whole; its children carry other labels,
		// which never count.
		labelled(index(art("sha256:i1", 5*day, "v3"), "sha256:x1", "sha256:x2"), "keep"),
		labelled(art("sha256:x1", 5*day), "prod"),
		labelled(art("sha256:x2", 5*day), "prod"),
		// An unlabelled index whose child carries "keep": not kept by it.
		index(art("sha256:i2", 6*day, "v4"), "sha256:y1"),
		labelled(art("sha256:y1", 6*day), "keep"),
	}
	always := func(sels ...retention.LabelSelector) retention.Rule {
		r := rule(retention.Always, 0)
		r.LabelSelectors = sels
		return r
	}
	for _, tc := range []struct {
		name string
		rule retention.Rule
		kept []string
	}{
		{"withLabels: the one label", always(withLabels("keep")), []string{"sha256:a", "sha256:b", "sha256:i1"}},
		{"withLabels: all of them", always(withLabels("keep", "prod")), []string{"sha256:a"}},
		{"withLabels: a label nobody carries", always(withLabels("keep", "gone")), nil},
		{"withLabels: names match exactly", always(withLabels("Keep")), nil},
		{"withoutLabels: not the one label", always(withoutLabels("prod")),
			[]string{"sha256:b", "sha256:d", "sha256:i1", "sha256:i2"}},
		{"withoutLabels: none of them", always(withoutLabels("keep", "prod")), []string{"sha256:d", "sha256:i2"}},
		{"with and without: every selector must pick", always(withLabels("keep"), withoutLabels("prod")),
			[]string{"sha256:b", "sha256:i1"}},
		{"and the tag selectors", func() retention.Rule {
			r := always(withoutLabels("keep"))
			r.TagSelectors = taggedOnly
			return r
		}(), []string{"sha256:c", "sha256:i2"}},
		{"the template ranks the labelled only", func() retention.Rule {
			r := rule(retention.LatestPushedK, 2)
			r.LabelSelectors = []retention.LabelSelector{withLabels("keep")}
			return r
		}(), []string{"sha256:a", "sha256:b"}},
		{"no label selectors", always(), []string{"sha256:a", "sha256:b", "sha256:c", "sha256:d", "sha256:i1", "sha256:i2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := evaluate(t, retention.Policy{Rules: []retention.Rule{tc.rule}}, arts)
			assert.Equal(t, tc.kept, kept(res))
			for _, d := range res.Decisions {
				assert.NotContains(t, []string{"sha256:x1", "sha256:x2", "sha256:y1"}, d.Digest, "children are never judged alone")
			}
		})
	}

	// A disabled rule's label selectors take no part; another rule still
	// retains on its own (rules are OR'ed).
	off := always(withLabels("keep"))
	off.Disabled = true
	res := evaluate(t, retention.Policy{Rules: []retention.Rule{off, always(withLabels("prod"))}}, arts)
	assert.Equal(t, []string{"sha256:a", "sha256:c"}, kept(res))
	res = evaluate(t, retention.Policy{Rules: []retention.Rule{always(withLabels("keep")), always(withLabels("prod"))}}, arts)
	assert.Equal(t, []string{"sha256:a", "sha256:b", "sha256:c", "sha256:i1"}, kept(res))
	assert.Equal(t, []int{0, 1}, decision(t, res, "sha256:a").Rules)
}

func TestLabelSelectorMatch(t *testing.T) {
	for _, tc := range []struct {
		sel     retention.LabelSelector
		carried []string
		want    bool
	}{
		{withLabels("a"), []string{"a"}, true},
		{withLabels("a", "b"), []string{"b", "c", "a"}, true},
		{withLabels("a", "b"), []string{"a"}, false},
		{withLabels("a"), nil, false},
		{withoutLabels("a"), nil, true},
		{withoutLabels("a", "b"), []string{"c"}, true},
		{withoutLabels("a", "b"), []string{"c", "b"}, false},
		{retention.LabelSelector{Decoration: "matches", Labels: []string{"a"}}, []string{"a"}, false},
	} {
		assert.Equal(t, tc.want, tc.sel.Match(tc.carried), "%s on %v", tc.sel, tc.carried)
	}
	assert.True(t, retention.MatchLabels(nil, nil), "no selectors pick everything")
	assert.False(t, retention.MatchLabels([]retention.LabelSelector{withLabels("a"), withoutLabels("b")}, []string{"a", "b"}))
}

// labelNames reads a label store for retention, counting its calls.
type labelNames struct {
	s     *label.Store
	calls atomic.Int32
}

func (l *labelNames) LabelNames(ctx context.Context, projectID int64, repo string, digests []digest.Digest) (map[digest.Digest][]string, error) {
	l.calls.Add(1)
	ls, err := l.s.LabelsOfMany(ctx, projectID, repo, digests)
	if err != nil {
		return nil, err
	}
	out := make(map[digest.Digest][]string, len(ls))
	for d, labels := range ls {
		for _, x := range labels {
			out[d] = append(out[d], x.Name)
		}
	}
	return out, nil
}

func TestExecutionKeepsLabelled(t *testing.T) {
	engines(t, func(t *testing.T, eng string) {
		names := &labelNames{}
		e := newEnv(t, eng, envOptions{opts: []retention.ServiceOption{retention.WithArtifactLabels(names)}})
		ctx := t.Context()
		var err error
		names.s, err = label.New(ctx, e.db)
		skipUnported(t, err)
		require.NoError(t, err)
		team := e.project(t, "team")
		keepL, err := names.s.Create(ctx, label.Label{Name: "keep", Scope: label.ScopeProject, ProjectID: team})
		require.NoError(t, err)
		otherL, err := names.s.Create(ctx, label.Label{Name: "other", Scope: label.ScopeGlobal})
		require.NoError(t, err)
		attach := func(repo string, d digest.Digest, id int64) {
			t.Helper()
			require.NoError(t, names.s.Attach(ctx, label.Artifact{ProjectID: team, Repository: repo, Digest: d}, id))
		}

		kept := e.push(t, "team/app", "v1")
		attach("team/app", kept, keepL.ID)
		plain := e.push(t, "team/app", "v2")
		tagged := e.push(t, "team/app", "v3")
		attach("team/app", tagged, otherL.ID)
		untagged := e.push(t, "team/app")
		idx, kids := e.pushIndex(t, "team/multi", "v9") // labelled as a whole: kept with its platforms
		attach("team/multi", idx, keepL.ID)
		oldIdx, oldKids := e.pushIndex(t, "team/multi", "old") // a platform labelled: not the index
		attach("team/multi", oldKids[0], keepL.ID)

		pol := retention.ProjectPolicy{ProjectID: team, Policy: retention.Policy{Rules: []retention.Rule{{
			Template: retention.Always, ScopeSelectors: every(),
			LabelSelectors: []retention.LabelSelector{withLabels("keep")},
		}}}}
		p, err := e.svc.Create(ctx, pol)
		require.NoError(t, err)
		assert.Equal(t, pol.Rules[0].LabelSelectors, p.Rules[0].LabelSelectors, "stored and read back")

		ex, err := e.svc.Run(ctx, team, false, retention.TriggerManual)
		require.NoError(t, err)
		ex = e.wait(t, team, ex.ID)
		require.Equal(t, retention.StatusSuccess, ex.Status, ex.Error)
		assert.True(t, e.exists(t, "team/app", kept), "carries keep")
		assert.False(t, e.exists(t, "team/app", plain))
		assert.False(t, e.exists(t, "team/app", tagged), "carries another label only")
		assert.False(t, e.exists(t, "team/app", untagged))
		assert.True(t, e.exists(t, "team/multi", idx))
		for _, k := range kids {
			assert.True(t, e.exists(t, "team/multi", k), "kept with its index")
		}
		assert.False(t, e.exists(t, "team/multi", oldIdx), "a labelled platform does not keep its index")
		assert.False(t, e.exists(t, "team/multi", oldKids[1]))
		assert.Equal(t, int32(2), names.calls.Load(), "one request per repository")

		// A policy that does not select by label never asks.
		names.calls.Store(0)
		_, err = e.svc.Update(ctx, policy(team))
		require.NoError(t, err)
		ex, err = e.svc.Run(ctx, team, true, retention.TriggerManual)
		require.NoError(t, err)
		ex = e.wait(t, team, ex.ID)
		require.Equal(t, retention.StatusSuccess, ex.Status, ex.Error)
		assert.Zero(t, names.calls.Load())
	})
}

func TestExecutionWithoutLabelSource(t *testing.T) {
	engines(t, func(t *testing.T, eng string) {
		e := newEnv(t, eng, envOptions{})
		ctx := t.Context()
		team := e.project(t, "team")
		d := e.push(t, "team/app", "v1")
		_, err := e.svc.Create(ctx, retention.ProjectPolicy{ProjectID: team, Policy: retention.Policy{Rules: []retention.Rule{{
			Template: retention.Always, LabelSelectors: []retention.LabelSelector{withLabels("keep")},
		}}}})
		require.NoError(t, err)
		ex, err := e.svc.Run(ctx, team, false, retention.TriggerManual)
		require.NoError(t, err)
		ex = e.wait(t, team, ex.ID)
		assert.Equal(t, retention.StatusError, ex.Status)
		assert.Contains(t, ex.Error, "no label source")
		assert.True(t, e.exists(t, "team/app", d), "nothing deleted")
		assert.Empty(t, e.tasks(t, team, ex.ID))
	})
}

func TestLabelSelectorsStored(t *testing.T) {
	engines(t, func(t *testing.T, eng string) {
		e := newEnv(t, eng, envOptions{})
		ctx := t.Context()
		team := e.project(t, "team")
		pol := policy(team)
		pol.Rules[0].LabelSelectors = []retention.LabelSelector{withLabels("a", "b"), withoutLabels("c")}
		_, err := e.svc.Create(ctx, pol)
		require.NoError(t, err)
		got, err := e.svc.Get(ctx, team)
		require.NoError(t, err)
		assert.Equal(t, pol.Rules, got.Rules)
		assert.Nil(t, got.Rules[1].LabelSelectors)

		pol.Rules[0].LabelSelectors = slices.Clone(pol.Rules[0].LabelSelectors[:1])
		pol.Rules[1].LabelSelectors = []retention.LabelSelector{withLabels("")}
		_, err = e.svc.Update(ctx, pol)
		require.Error(t, err, "validated")
		assert.Contains(t, err.Error(), "rule 2: label selector 1: label 1 has an empty name")
	})
}
