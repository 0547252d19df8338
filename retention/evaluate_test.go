package retention_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/immutable"
	"github.com/berthlabs/berth/retention"
	"github.com/berthlabs/berth/tagselect"
)

// The fixed clock of every evaluation here.
var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

func ago(d time.Duration) time.Time { return now.Add(-d) }

var (
	everyRepo  = []tagselect.Selector{{Decoration: tagselect.RepoMatches, Pattern: "**"}}
	everyTag   = []tagselect.Selector{{Decoration: tagselect.Matches, Pattern: "**", Untagged: true}}
	taggedOnly = []tagselect.Selector{{Decoration: tagselect.Matches, Pattern: "**"}}
)

func rule(template string, n int, tags ...tagselect.Selector) retention.Rule {
	r := retention.Rule{Template: template, ScopeSelectors: everyRepo, TagSelectors: everyTag}
	if template != retention.Always {
		r.Params = map[string]int{template: n}
	}
	if len(tags) > 0 {
		r.TagSelectors = tags
	}
	return r
}

func matches(p string) tagselect.Selector {
	return tagselect.Selector{Decoration: tagselect.Matches, Pattern: p}
}

// art is an artifact of library/app pushed some time ago.
func art(digest string, pushed time.Duration, tags ...string) retention.Artifact {
	a := retention.Artifact{Repository: "library/app", Digest: digest, PushedAt: ago(pushed)}
	for _, t := range tags {
		a.Tags = append(a.Tags, retention.Tag{Name: t})
	}
	return a
}

func pulled(a retention.Artifact, d time.Duration) retention.Artifact {
	a.PulledAt = ago(d)
	return a
}

func evaluate(t *testing.T, p retention.Policy, arts []retention.Artifact, opts ...retention.Option) retention.Result {
	t.Helper()
	res, err := retention.Evaluate(p, arts, now, opts...)
	require.NoError(t, err)
	return res
}

// kept lists the digests of the decisions that do not delete.
func kept(res retention.Result) []string {
	var out []string
	for _, d := range res.Decisions {
		if d.Action != retention.Delete {
			out = append(out, d.Digest)
		}
	}
	return out
}

func deleted(res retention.Result) []string {
	var out []string
	for _, d := range res.Deleted() {
		out = append(out, d.Digest)
	}
	return out
}

func decision(t *testing.T, res retention.Result, digest string) retention.Decision {
	t.Helper()
	for _, d := range res.Decisions {
		if d.Digest == digest {
			return d
		}
	}
	t.Fatalf("no decision of its own for %s", digest)
	return retention.Decision{}
}

func TestTemplates(t *testing.T) {
	arts := []retention.Artifact{
		art("sha256:a", 1*day, "v1"),                  // never pulled
		pulled(art("sha256:b", 2*day, "v2"), 10*day),  //
		pulled(art("sha256:c", 5*day, "v3"), 1*day),   // pushed at the 5-day boundary
		pulled(art("sha256:d", 10*day, "v4"), 30*day), //
		art("sha256:e", 40*day, "v5"),                 // never pulled
		pulled(art("sha256:u", 3*day), 2*day),         // untagged
	}
	for _, tc := range []struct {
		name   string
		rule   retention.Rule
		kept   []string
		reason string // of the first kept
	}{
		{"latestPushedK", rule(retention.LatestPushedK, 2), []string{"sha256:a", "sha256:b"},
			"retained by rule 1: among the 2 most recently pushed"},
		{"latestPushedK zero", rule(retention.LatestPushedK, 0), nil, ""},
		{"latestPushedK more than there are", rule(retention.LatestPushedK, 10),
			[]string{"sha256:a", "sha256:b", "sha256:c", "sha256:d", "sha256:e", "sha256:u"}, ""},
		{"latestPulledN", rule(retention.LatestPulledN, 2), []string{"sha256:c", "sha256:u"},
			"retained by rule 1: among the 2 most recently pulled"},
		{"latestPulledN four", rule(retention.LatestPulledN, 4), []string{"sha256:b", "sha256:c", "sha256:d", "sha256:u"}, ""},
		{"latestPulledN fills with the never pulled, latest pushed first", rule(retention.LatestPulledN, 5),
			[]string{"sha256:a", "sha256:b", "sha256:c", "sha256:d", "sha256:u"}, ""},
		{"latestActiveK", rule(retention.LatestActiveK, 2), []string{"sha256:a", "sha256:c"},
			"retained by rule 1: among the 2 most recently pushed or pulled"},
		{"latestActiveK tie by digest", rule(retention.LatestActiveK, 3), []string{"sha256:a", "sha256:b", "sha256:c"}, ""},
		{"nDaysSinceLastPush keeps the boundary", rule(retention.NDaysSinceLastPush, 5),
			[]string{"sha256:a", "sha256:b", "sha256:c", "sha256:u"}, "retained by rule 1: pushed within the last 5 days"},
		{"lastXDays drops the boundary", rule(retention.LastXDays, 5), []string{"sha256:a", "sha256:b", "sha256:u"},
			"retained by rule 1: pushed within the last 5 days"},
		{"nDaysSinceLastPull", rule(retention.NDaysSinceLastPull, 10), []string{"sha256:b", "sha256:c", "sha256:u"},
			"retained by rule 1: pulled within the last 10 days"},
		{"nDaysSinceLastPull zero", rule(retention.NDaysSinceLastPull, 0), nil, ""},
		{"nDaysSinceLastPull never pulled is never within", rule(retention.NDaysSinceLastPull, retention.MaxDays),
			[]string{"sha256:b", "sha256:c", "sha256:d", "sha256:u"}, ""},
		{"nDaysSinceLastPush beyond a Duration", rule(retention.NDaysSinceLastPush, retention.MaxDays),
			[]string{"sha256:a", "sha256:b", "sha256:c", "sha256:d", "sha256:e", "sha256:u"}, ""},
		{"always", rule(retention.Always, 0),
			[]string{"sha256:a", "sha256:b", "sha256:c", "sha256:d", "sha256:e", "sha256:u"}, "retained by rule 1: always retained"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := evaluate(t, retention.Policy{Rules: []retention.Rule{tc.rule}}, arts)
			require.Len(t, res.Decisions, len(arts))
			assert.Equal(t, tc.kept, kept(res))
			for _, d := range res.Decisions {
				if d.Action == retention.Delete {
					assert.Equal(t, "no rule retains it", d.Reason)
					assert.Empty(t, d.Rules)
				} else {
					assert.Equal(t, retention.Retain, d.Action)
					assert.Equal(t, []int{0}, d.Rules)
				}
			}
			if tc.reason != "" {
				assert.Equal(t, tc.reason, decision(t, res, tc.kept[0]).Reason)
			}
		})
	}
}

// Tag times count: a tag pushed (moved) or pulled recently makes its
// artifact recent.
func TestTagTimes(t *testing.T) {
	old := art("sha256:a", 30*day)
	old.Tags = []retention.Tag{{Name: "v1", PushedAt: ago(1 * day)}, {Name: "v0", PulledAt: ago(2 * day)}}
	arts := []retention.Artifact{old, art("sha256:b", 5*day, "v2")}
	res := evaluate(t, retention.Policy{Rules: []retention.Rule{rule(retention.LatestPushedK, 1)}}, arts)
	assert.Equal(t, []string{"sha256:a"}, kept(res))
	res = evaluate(t, retention.Policy{Rules: []retention.Rule{rule(retention.NDaysSinceLastPull, 3)}}, arts)
	assert.Equal(t, []string{"sha256:a"}, kept(res))
	assert.Equal(t, []string{"v1", "v0"}, res.Decisions[0].Tags)
}

func TestMultiArch(t *testing.T) {
	index := func(digest string, pushed time.Duration, tag string, children ...string) retention.Artifact {
		a := art(digest, pushed, tag)
		a.Children = children
		return a
	}
	arts := []retention.Artifact{
		index("sha256:i-new", 1*day, "v2", "sha256:n1", "sha256:n2", "sha256:n3"),
		index("sha256:i-old", 9*day, "v1", "sha256:o1", "sha256:o2", "sha256:o3"),
		// The children, untagged, pushed just before their index: the
		// untagged box is off, yet they are never judged on their own.
		art("sha256:n1", 1*day+time.Minute), art("sha256:n2", 1*day+time.Minute), art("sha256:n3", 1*day+time.Minute),
		art("sha256:o1", 9*day+time.Minute), art("sha256:o2", 9*day+time.Minute),
		// o3 is not given: listed by its index, deleted with it all the same.
	}
	res := evaluate(t, retention.Policy{Rules: []retention.Rule{rule(retention.LatestPushedK, 1, matches("**"))}}, arts)

	require.Len(t, res.Decisions, 2, "one decision per index, none per child")
	keep, del := res.Decisions[0], res.Decisions[1]
	assert.Equal(t, "sha256:i-new", keep.Digest)
	assert.Equal(t, retention.Retain, keep.Action)
	assert.Equal(t, []retention.Dependent{
		{Digest: "sha256:n1", Relation: retention.Child, Of: "sha256:i-new"},
		{Digest: "sha256:n2", Relation: retention.Child, Of: "sha256:i-new"},
		{Digest: "sha256:n3", Relation: retention.Child, Of: "sha256:i-new"},
	}, keep.Dependents)

	assert.Equal(t, "sha256:i-old", del.Digest)
	assert.Equal(t, retention.Delete, del.Action)
	assert.Equal(t, []retention.Dependent{
		{Digest: "sha256:o1", Relation: retention.Child, Of: "sha256:i-old"},
		{Digest: "sha256:o2", Relation: retention.Child, Of: "sha256:i-old"},
		{Digest: "sha256:o3", Relation: retention.Child, Of: "sha256:i-old"},
	}, del.Dependents, "the index takes its children with it, in one decision")
	assert.Equal(t, []string{"sha256:i-old"}, deleted(res))

	d, ok := res.Lookup("library/app", "sha256:o2")
	require.True(t, ok)
	assert.Equal(t, "sha256:i-old", d.Digest)
	d, ok = res.Lookup("library/app", "sha256:n3")
	require.True(t, ok)
	assert.Equal(t, retention.Retain, d.Action)
	_, ok = res.Lookup("library/app", "sha256:zz")
	assert.False(t, ok)
	_, ok = res.Lookup("library/other", "sha256:n3")
	assert.False(t, ok)
}

func TestSharedAndTaggedChildren(t *testing.T) {
	index := func(digest string, pushed time.Duration, tag string, children ...string) retention.Artifact {
		a := art(digest, pushed, tag)
		a.Children = children
		return a
	}
	arts := []retention.Artifact{
		index("sha256:1", 1*day, "v3", "sha256:keep-shared", "sha256:c1"),
		index("sha256:2", 5*day, "v2", "sha256:keep-shared", "sha256:del-shared", "sha256:tagged"),
		index("sha256:3", 9*day, "v1", "sha256:del-shared", "sha256:c3"),
		art("sha256:tagged", 5*day, "v2-amd64"),
	}
	res := evaluate(t, retention.Policy{Rules: []retention.Rule{rule(retention.LatestPushedK, 1, matches("v?"))}}, arts)
	assert.Equal(t, []string{"sha256:2", "sha256:3"}, deleted(res))

	// A child of a kept index stays, listed with it.
	keep := decision(t, res, "sha256:1")
	assert.Equal(t, []string{"sha256:c1", "sha256:keep-shared"}, digests(keep.Dependents))
	assert.NotContains(t, digests(decision(t, res, "sha256:2").Dependents), "sha256:keep-shared")

	// A child two deleted indexes share goes with the later of them.
	assert.Empty(t, decision(t, res, "sha256:2").Dependents)
	assert.Equal(t, []string{"sha256:c3", "sha256:del-shared"}, digests(decision(t, res, "sha256:3").Dependents))

	// A child with tags of its own stays when its index goes, on its own.
	tagged := decision(t, res, "sha256:tagged")
	assert.Equal(t, retention.Retain, tagged.Action)
	assert.Equal(t, "a child manifest with tags of its own: kept when its index sha256:2 is deleted", tagged.Reason)
	assert.Equal(t, []string{"v2-amd64"}, tagged.Tags)
}

func digests(deps []retention.Dependent) []string {
	var out []string
	for _, d := range deps {
		out = append(out, d.Digest)
	}
	return out
}

// A platform pulled by digest keeps its index active (goharbor/harbor#22390).
func TestChildActivityCounts(t *testing.T) {
	idx := art("sha256:idx", 60*day, "v1")
	idx.Children = []string{"sha256:amd64", "sha256:arm64"}
	arts := []retention.Artifact{idx, pulled(art("sha256:arm64", 60*day), 2*day), art("sha256:amd64", 60*day),
		art("sha256:other", 60*day, "v0")}
	res := evaluate(t, retention.Policy{Rules: []retention.Rule{rule(retention.NDaysSinceLastPull, 7)}}, arts)
	assert.Equal(t, []string{"sha256:idx"}, kept(res))
	assert.Equal(t, []string{"sha256:other"}, deleted(res))
}

func TestReferrers(t *testing.T) {
	ref := func(digest, subject string, pushed time.Duration, tags ...string) retention.Artifact {
		a := art(digest, pushed, tags...)
		a.Subject = subject
		return a
	}
	arts := []retention.Artifact{
		art("sha256:new", 2*day, "v2"),
		art("sha256:old", 8*day, "v1"),
		// Signatures pushed after their subjects, one with cosign's tag:
		// judged alone they would top latestPushedK.
		ref("sha256:sig-new", "sha256:new", 0, "sha256-new.sig"),
		ref("sha256:sig-old", "sha256:old", 0, "sha256-old.sig"),
		ref("sha256:sbom-old", "sha256:old", 1*day),
		ref("sha256:a-sbom-sig", "sha256:sbom-old", 0), // a signature of the SBOM
		ref("sha256:lost", "sha256:gone", 0),           // its subject is not given
	}
	res := evaluate(t, retention.Policy{Rules: []retention.Rule{rule(retention.LatestPushedK, 1)}}, arts)
	assert.Equal(t, []string{"sha256:old"}, deleted(res))

	keep := decision(t, res, "sha256:new")
	assert.Equal(t, retention.Retain, keep.Action)
	assert.Equal(t, []retention.Dependent{
		{Digest: "sha256:sig-new", Tags: []string{"sha256-new.sig"}, Relation: retention.Referrer, Of: "sha256:new"},
	}, keep.Dependents)

	del := decision(t, res, "sha256:old")
	assert.Equal(t, []retention.Dependent{
		{Digest: "sha256:sbom-old", Relation: retention.Referrer, Of: "sha256:old"},
		{Digest: "sha256:a-sbom-sig", Relation: retention.Referrer, Of: "sha256:sbom-old"}, // after its subject
		{Digest: "sha256:sig-old", Tags: []string{"sha256-old.sig"}, Relation: retention.Referrer, Of: "sha256:old"},
	}, del.Dependents)

	lost := decision(t, res, "sha256:lost")
	assert.Equal(t, retention.Retain, lost.Action)
	assert.Equal(t, "a referrer whose subject sha256:gone is not among the artifacts: kept", lost.Reason)
	require.Len(t, res.Decisions, 3)
}

// Referrers of the children of an index (per-platform SBOMs) go with it.
func TestReferrersOfChildren(t *testing.T) {
	idx := art("sha256:idx", 9*day, "v1")
	idx.Children = []string{"sha256:amd64"}
	sbom := art("sha256:sbom", 9*day)
	sbom.Subject = "sha256:amd64"
	arts := []retention.Artifact{idx, art("sha256:amd64", 9*day), sbom, art("sha256:newer", 1*day, "v2")}
	res := evaluate(t, retention.Policy{Rules: []retention.Rule{rule(retention.LatestPushedK, 1)}}, arts)
	del := decision(t, res, "sha256:idx")
	assert.Equal(t, retention.Delete, del.Action)
	assert.Equal(t, []retention.Dependent{
		{Digest: "sha256:amd64", Relation: retention.Child, Of: "sha256:idx"},
		{Digest: "sha256:sbom", Relation: retention.Referrer, Of: "sha256:amd64"},
	}, del.Dependents)
}

func TestRulesAreORed(t *testing.T) {
	arts := []retention.Artifact{
		art("sha256:1", 1*day, "v3"),
		art("sha256:2", 2*day, "v2"),
		art("sha256:3", 30*day, "release-1"),
		art("sha256:4", 3*day, "dev"),
		art("sha256:5", 40*day, "v1", "release-0"),
		art("sha256:6", 0, "release-2"),
	}
	p := retention.Policy{Algorithm: retention.AlgorithmOR, Rules: []retention.Rule{
		rule(retention.LatestPushedK, 1, matches("{v*,release-2}")),
		rule(retention.Always, 0, matches("release-*")),
	}}
	res := evaluate(t, p, arts)
	assert.Equal(t, []string{"sha256:1", "sha256:2", "sha256:4"}, deleted(res))
	assert.Equal(t, []int{1}, decision(t, res, "sha256:3").Rules)
	assert.Equal(t, "retained by rule 2: always retained", decision(t, res, "sha256:3").Reason)
	assert.Equal(t, []int{1}, decision(t, res, "sha256:5").Rules, "one of its tags is enough")
	assert.Equal(t, []int{0, 1}, decision(t, res, "sha256:6").Rules)
	assert.Equal(t, "retained by rule 1: among the 1 most recently pushed", decision(t, res, "sha256:6").Reason)
	assert.Empty(t, decision(t, res, "sha256:1").Rules, "K counts among the rule's candidates only")
}

func TestDisabledRules(t *testing.T) {
	arts := []retention.Artifact{art("sha256:1", 1*day, "v1"), art("sha256:2", 2*day, "v2")}
	off := rule(retention.LatestPushedK, 0)
	off.Disabled = true

	res := evaluate(t, retention.Policy{Rules: []retention.Rule{off}}, arts)
	assert.Empty(t, deleted(res), "no enabled rule: nothing is touched")
	assert.Equal(t, "no enabled rule applies to repository library/app", res.Decisions[0].Reason)

	res = evaluate(t, retention.Policy{Rules: []retention.Rule{off, rule(retention.LatestPushedK, 1)}}, arts)
	assert.Equal(t, []string{"sha256:2"}, deleted(res))
	assert.Equal(t, []int{1}, decision(t, res, "sha256:1").Rules)
}

func TestSelectors(t *testing.T) {
	in := func(repo string, a retention.Artifact) retention.Artifact { a.Repository = repo; return a }
	arts := []retention.Artifact{
		in("library/app/web", art("sha256:w1", 1*day, "v1")),
		in("library/app/web", art("sha256:w2", 2*day, "dev-1")),
		in("library/app/web", art("sha256:w3", 3*day)),
		in("library/app/web/deep", art("sha256:d1", 5*day, "v0")),
		in("library/app/tmp", art("sha256:t1", 5*day, "v0")),
		in("library/other", art("sha256:o1", 5*day, "v0")),
	}
	scope := []tagselect.Selector{
		{Decoration: tagselect.RepoMatches, Pattern: "app/*"},
		{Decoration: tagselect.RepoExcludes, Pattern: "app/{tmp,cache}"},
	}
	for _, tc := range []struct {
		name    string
		tags    []tagselect.Selector
		deleted []string
	}{
		{"matches, untagged off", []tagselect.Selector{{Decoration: tagselect.Matches, Pattern: "v*"}},
			[]string{"sha256:w2", "sha256:w3"}},
		{"matches, untagged on", []tagselect.Selector{{Decoration: tagselect.Matches, Pattern: "v*", Untagged: true}},
			[]string{"sha256:w2"}},
		{"excludes, untagged off", []tagselect.Selector{{Decoration: tagselect.Excludes, Pattern: "dev-*"}},
			[]string{"sha256:w2"}},
		{"excludes, untagged on", []tagselect.Selector{{Decoration: tagselect.Excludes, Pattern: "dev-*", Untagged: true}},
			[]string{"sha256:w2", "sha256:w3"}},
		{"no tag selectors", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rule(retention.Always, 0)
			r.ScopeSelectors, r.TagSelectors = scope, tc.tags
			res := evaluate(t, retention.Policy{Rules: []retention.Rule{r}}, arts)
			assert.Equal(t, tc.deleted, deleted(res))
			for _, d := range res.Decisions {
				if d.Repository != "library/app/web" {
					assert.Equal(t, retention.Retain, d.Action, d.Repository)
					assert.Equal(t, "no enabled rule applies to repository "+d.Repository, d.Reason)
				}
			}
		})
	}
}

// K counts per repository; the result is ordered by repository, then
// digest, whatever the order of the input.
func TestPerRepositoryAndOrder(t *testing.T) {
	var arts []retention.Artifact
	for _, repo := range []string{"b/z", "a/y", "a/x"} {
		for i, d := range []string{"sha256:3", "sha256:1", "sha256:2"} {
			a := art(d, time.Duration(i+1)*day, fmt.Sprint("v", i))
			a.Repository = repo
			arts = append(arts, a)
		}
	}
	p := retention.Policy{Rules: []retention.Rule{rule(retention.LatestPushedK, 1)}}
	res := evaluate(t, p, arts)
	var got []string
	for _, d := range res.Decisions {
		got = append(got, d.Repository+"@"+d.Digest+":"+string(d.Action))
	}
	assert.Equal(t, []string{
		"a/x@sha256:1:delete", "a/x@sha256:2:delete", "a/x@sha256:3:retain",
		"a/y@sha256:1:delete", "a/y@sha256:2:delete", "a/y@sha256:3:retain",
		"b/z@sha256:1:delete", "b/z@sha256:2:delete", "b/z@sha256:3:retain",
	}, got)

	slices.Reverse(arts)
	assert.Equal(t, res, evaluate(t, p, arts))
}

func TestTiesByDigest(t *testing.T) {
	same := ago(3 * day)
	var arts []retention.Artifact
	for _, d := range []string{"sha256:cc", "sha256:aa", "sha256:dd", "sha256:bb"} {
		a := art(d, 0, "t-"+d[7:])
		a.PushedAt, a.PulledAt = same, same
		arts = append(arts, a)
	}
	for _, template := range []string{retention.LatestPushedK, retention.LatestPulledN, retention.LatestActiveK} {
		t.Run(template, func(t *testing.T) {
			for range 3 {
				res := evaluate(t, retention.Policy{Rules: []retention.Rule{rule(template, 2)}}, arts)
				assert.Equal(t, []string{"sha256:aa", "sha256:bb"}, kept(res))
				slices.Reverse(arts)
			}
		})
	}
}

func TestInvalid(t *testing.T) {
	ok := retention.Policy{Rules: []retention.Rule{rule(retention.Always, 0)}}
	noDigest := art("", day, "v1")
	noProject := art("sha256:1", day)
	noProject.Repository = "app"
	noTagName := art("sha256:1", day, "")
	for _, tc := range []struct {
		name string
		p    retention.Policy
		arts []retention.Artifact
		msg  string
	}{
		{"policy", retention.Policy{Rules: []retention.Rule{{Template: "latestK"}}}, nil, `unknown template "latestK"`},
		{"no digest", ok, []retention.Artifact{noDigest}, "retention: an artifact of library/app has no digest"},
		{"no project", ok, []retention.Artifact{noProject}, `retention: artifact sha256:1: repository "app" is not project/name`},
		{"tag without a name", ok, []retention.Artifact{noTagName}, "retention: artifact library/app@sha256:1 has a tag with no name"},
		{"twice", ok, []retention.Artifact{art("sha256:1", day), art("sha256:1", 2*day)}, "retention: artifact library/app@sha256:1 given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := retention.Evaluate(tc.p, tc.arts, now)
			require.ErrorIs(t, err, core.ErrInvalid)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}

	// The same digest in two repositories is two artifacts.
	a, b := art("sha256:1", day), art("sha256:1", day)
	b.Repository = "library/other"
	res := evaluate(t, ok, []retention.Artifact{a, b})
	assert.Len(t, res.Decisions, 2)
}

// An artifact holding an immutable tag is not deleted (Harbor reports it
// as failed), nor is one that would take an immutable referrer with it.
func TestProtector(t *testing.T) {
	rules := []immutable.Rule{{
		ID:             7,
		ScopeSelectors: []tagselect.Selector{{Decoration: tagselect.RepoMatches, Pattern: "**"}},
		TagSelectors:   []tagselect.Selector{{Decoration: tagselect.Matches, Pattern: "{release-*,*.sig}"}},
	}}
	immutableTags := func(a retention.Artifact) (string, bool) {
		var tags []string
		for _, t := range a.Tags {
			tags = append(tags, t.Name)
		}
		tag, r, ok := immutable.CheckTags(rules, a.Repository, tags)
		return fmt.Sprintf("tag %s is immutable (rule %d)", tag, r.ID), ok
	}
	sig := art("sha256:sig", 0, "sha256-signed.sig")
	sig.Subject = "sha256:signed"
	idx := art("sha256:idx", 6*day, "v0")
	idx.Children = []string{"sha256:child"}
	childSig := art("sha256:child-sig", 6*day, "sha256-child.sig")
	childSig.Subject = "sha256:child"
	arts := []retention.Artifact{
		art("sha256:new", 1*day, "v9"),
		art("sha256:rel", 5*day, "v1", "release-1"),
		art("sha256:signed", 5*day, "v2"),
		sig,
		art("sha256:plain", 5*day, "v3"),
		idx, childSig,
	}
	p := retention.Policy{Rules: []retention.Rule{rule(retention.LatestPushedK, 1)}}

	res := evaluate(t, p, arts)
	assert.Equal(t, []string{"sha256:idx", "sha256:plain", "sha256:rel", "sha256:signed"}, deleted(res), "without a protector")

	res = evaluate(t, p, arts, retention.WithProtector(immutableTags))
	assert.Equal(t, []string{"sha256:plain"}, deleted(res))
	rel := decision(t, res, "sha256:rel")
	assert.Equal(t, retention.Protect, rel.Action)
	assert.Equal(t, "no rule retains it, but it is protected: tag release-1 is immutable (rule 7)", rel.Reason)
	signed := decision(t, res, "sha256:signed")
	assert.Equal(t, retention.Protect, signed.Action)
	assert.Equal(t, "no rule retains it, but its referrer sha256:sig that would go with it is protected: tag sha256-signed.sig is immutable (rule 7)", signed.Reason)
	assert.Equal(t, []string{"sha256:sig"}, digests(signed.Dependents), "kept with it")
	ix := decision(t, res, "sha256:idx")
	assert.Equal(t, retention.Protect, ix.Action)
	assert.Equal(t, []string{"sha256:child", "sha256:child-sig"}, digests(ix.Dependents))

	// The protector is asked only about what would be deleted.
	var asked []string
	evaluate(t, p, arts, retention.WithProtector(func(a retention.Artifact) (string, bool) {
		asked = append(asked, a.Digest)
		return "", false
	}))
	assert.Equal(t, []string{"sha256:child", "sha256:child-sig", "sha256:idx", "sha256:plain", "sha256:rel", "sha256:sig", "sha256:signed"}, asked)

	// A protector without a reason still protects.
	res = evaluate(t, p, arts, retention.WithProtector(func(a retention.Artifact) (string, bool) { return "", a.Digest == "sha256:plain" }))
	assert.Equal(t, "no rule retains it, but it is protected: protected", decision(t, res, "sha256:plain").Reason)
}

// Malformed relations never lose an artifact: what leads back to itself
// is kept.
func TestCycles(t *testing.T) {
	self := art("sha256:self", 9*day)
	self.Children = []string{"sha256:self"}
	a, b := art("sha256:a", 9*day), art("sha256:b", 9*day)
	a.Subject, b.Subject = "sha256:b", "sha256:a"
	root := art("sha256:root", 9*day, "v1")
	root.Children = []string{"sha256:x"}
	x, y := art("sha256:x", 9*day), art("sha256:y", 9*day)
	x.Children, y.Children = []string{"sha256:y"}, []string{"sha256:x"}
	arts := []retention.Artifact{self, a, b, root, x, y, art("sha256:new", 0, "v2")}

	res := evaluate(t, retention.Policy{Rules: []retention.Rule{rule(retention.LatestPushedK, 1)}}, arts)
	assert.Equal(t, []string{"sha256:root"}, deleted(res))
	assert.Empty(t, decision(t, res, "sha256:root").Dependents)
	for _, d := range res.Decisions {
		if d.Action == retention.Retain && d.Digest != "sha256:new" {
			assert.Equal(t, "its indexes and subjects lead back to itself: kept", d.Reason, d.Digest)
		}
	}
	for _, dig := range []string{"sha256:self", "sha256:a", "sha256:b", "sha256:x", "sha256:y"} {
		d, ok := res.Lookup("library/app", dig)
		require.True(t, ok, dig)
		assert.Equal(t, retention.Retain, d.Action, dig)
	}
}

func TestEmpty(t *testing.T) {
	res := evaluate(t, retention.Policy{}, nil)
	assert.Empty(t, res.Decisions)
	res = evaluate(t, retention.Policy{}, []retention.Artifact{art("sha256:1", day)})
	assert.Equal(t, retention.Retain, res.Decisions[0].Action)
}
