package replicate_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/replicate"
)

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"library/*", "library/nginx", true},
		{"library/*", "library/team/nginx", false},
		{"library/**", "library/team/nginx", true},
		{"library/**", "library/nginx", true},
		{"library/**", "library", false},
		{"**", "a/b/c", true},
		{"**/nginx", "nginx", true},
		{"**/nginx", "a/b/nginx", true},
		{"**/nginx", "a/b/nginx-x", false},
		{"a/**/z", "a/z", true},
		{"a/**/z", "a/b/c/z", true},
		{"a/**/z", "a/bz", false},
		{"v?", "v1", true},
		{"v?", "v10", false},
		{"v*", "v1.2.3", true},
		{"v*", "1.0", false},
		{"{v1,v2}.*", "v2.0", true},
		{"{v1,v2}.*", "v3.0", false},
		{"app-{web,api}/*", "app-api/x", true},
		{"1.0", "1.0", true},
		{"1.0", "1x0", false}, // '.' is literal
		{"a+b", "a+b", true},
		{`v\*`, "v*", true},
		{`v\*`, "v1", false},
		{"{a,b", "a", false}, // malformed matches nothing
	} {
		assert.Equal(t, tc.want, replicate.Glob(tc.pattern, tc.s), "%q ~ %q", tc.pattern, tc.s)
	}
}

// TestFilters selects repositories and tags with matches and excludes
// rules, as a policy does.
func TestFilters(t *testing.T) {
	repos := []string{"library/nginx", "library/redis", "library/team/api", "team/web", "team/sub/worker", "other"}
	tags := []string{"latest", "v1", "v1.2", "v2", "v2-rc1", "dev", "sha256-abc"}
	name := func(v string, ex bool) replicate.Filter {
		f := replicate.Filter{Type: replicate.FilterName, Value: v}
		if ex {
			f.Decoration = replicate.Excludes
		}
		return f
	}
	tag := func(v string, ex bool) replicate.Filter {
		f := replicate.Filter{Type: replicate.FilterTag, Value: v}
		if ex {
			f.Decoration = replicate.Excludes
		}
		return f
	}
	for _, tc := range []struct {
		name      string
		filters   []replicate.Filter
		wantRepos []string
		wantTags  []string
	}{
		{"no filters: everything", nil, repos, tags},
		{"one level", []replicate.Filter{name("library/*", false)}, []string{"library/nginx", "library/redis"}, tags},
		{"any depth", []replicate.Filter{name("library/**", false)}, []string{"library/nginx", "library/redis", "library/team/api"}, tags},
		{"two includes", []replicate.Filter{name("library/nginx", false), name("team/*", false)}, []string{"library/nginx", "team/web"}, tags},
		{"exclude only", []replicate.Filter{name("library/**", true)}, []string{"team/web", "team/sub/worker", "other"}, tags},
		{"include minus exclude", []replicate.Filter{name("**", false), name("**/team/**", true), name("team/**", true)},
			[]string{"library/nginx", "library/redis", "other"}, tags},
		{"tags v*", []replicate.Filter{tag("v*", false)}, repos, []string{"v1", "v1.2", "v2", "v2-rc1"}},
		{"tags v* but no rc", []replicate.Filter{tag("v*", false), tag("*-rc*", true)}, repos, []string{"v1", "v1.2", "v2"}},
		{"tags alternatives", []replicate.Filter{tag("{latest,v1}", false)}, repos, []string{"latest", "v1"}},
		{"tags excluded only", []replicate.Filter{tag("dev", true), tag("sha256-*", true)}, repos,
			[]string{"latest", "v1", "v1.2", "v2", "v2-rc1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, replicate.ValidateFilters(tc.filters))
			var gotRepos, gotTags []string
			for _, r := range repos {
				if replicate.MatchRepository(tc.filters, r) {
					gotRepos = append(gotRepos, r)
				}
			}
			for _, tg := range tags {
				if replicate.MatchTag(tc.filters, tg) {
					gotTags = append(gotTags, tg)
				}
			}
			assert.Equal(t, tc.wantRepos, gotRepos)
			assert.Equal(t, tc.wantTags, gotTags)
		})
	}
}

func TestArtifactFilters(t *testing.T) {
	labels := map[string]string{"org.opencontainers.image.vendor": "acme", "tier": "prod"}
	for _, tc := range []struct {
		filters []replicate.Filter
		labels  map[string]string
		typ     string
		image   bool
		want    bool
	}{
		{[]replicate.Filter{{Type: replicate.FilterLabel, Value: "tier=prod"}}, labels, "", true, true},
		{[]replicate.Filter{{Type: replicate.FilterLabel, Value: "tier=dev"}}, labels, "", true, false},
		{[]replicate.Filter{{Type: replicate.FilterLabel, Value: "tier"}}, labels, "", true, true},
		{[]replicate.Filter{{Type: replicate.FilterLabel, Value: "tier=prod", Decoration: replicate.Excludes}}, labels, "", true, false},
		{[]replicate.Filter{{Type: replicate.FilterResource, Value: "image"}}, nil, "application/vnd.oci.image.config.v1+json", true, true},
		{[]replicate.Filter{{Type: replicate.FilterResource, Value: "image"}}, nil, "application/vnd.cncf.helm.config.v1+json", false, false},
		{[]replicate.Filter{{Type: replicate.FilterResource, Value: "application/vnd.cncf.helm.*"}}, nil,
			"application/vnd.cncf.helm.config.v1+json", false, true},
	} {
		assert.Equal(t, tc.want, replicate.MatchArtifact(tc.filters, tc.labels, tc.typ, tc.image), "%+v", tc.filters)
	}
}

func TestRewrite(t *testing.T) {
	for _, tc := range []struct {
		ns      string
		replace int
		in      string
		want    string
		bad     bool
	}{
		{"", 0, "library/nginx", "library/nginx", false},
		{"mirror", 0, "library/nginx", "mirror/library/nginx", false},
		{"mirror", 1, "library/nginx", "mirror/nginx", false},
		{"mirror", 1, "a/b/c", "mirror/b/c", false},
		{"mirror/dc1", 2, "a/b/c", "mirror/dc1/c", false},
		{"mirror", replicate.FlattenAll, "a/b/c", "mirror/c", false},
		{"", replicate.FlattenAll, "a/b/c", "c", false},
		{"", 1, "a/b", "b", false},
		{"mirror", 2, "a/b", "", true}, // would drop every component
		{"mirror", -2, "a/b", "", true},
	} {
		got, err := replicate.Rewrite{Namespace: tc.ns, Replace: tc.replace}.Apply(tc.in)
		if tc.bad {
			assert.ErrorIs(t, err, replicate.ErrInvalid)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, "%+v", tc)
	}
}

func TestPolicyValidate(t *testing.T) {
	ok := replicate.Policy{Name: "p", Mode: replicate.Push, RemoteID: 1, Trigger: replicate.TriggerManual}
	require.NoError(t, ok.Validate())
	for _, mod := range []func(*replicate.Policy){
		func(p *replicate.Policy) { p.Name = "" },
		func(p *replicate.Policy) { p.Mode = "sideways" },
		func(p *replicate.Policy) { p.RemoteID = 0 },
		func(p *replicate.Policy) { p.Trigger = replicate.TriggerScheduled; p.Cron = "every tuesday" },
		func(p *replicate.Policy) { p.Trigger = replicate.TriggerEvent; p.Mode = replicate.Pull },
		func(p *replicate.Policy) { p.Filters = []replicate.Filter{{Type: "colour", Value: "red"}} },
		func(p *replicate.Policy) { p.Filters = []replicate.Filter{{Type: replicate.FilterName, Value: "{a"}} },
		func(p *replicate.Policy) { p.DestNamespace = "Bad Name" },
		func(p *replicate.Policy) { p.Speed = -1 },
	} {
		p := ok
		mod(&p)
		assert.ErrorIs(t, p.Validate(), replicate.ErrInvalid, "%+v", p)
	}
	for _, spec := range []string{"0 0 * * * *", "*/5 * * * *", "@every 1m"} {
		p := ok
		p.Trigger, p.Cron = replicate.TriggerScheduled, spec
		assert.NoError(t, p.Validate(), spec)
	}
}
