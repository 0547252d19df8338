package retention

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/tagselect"
)

var (
	allRepos = []tagselect.Selector{{Decoration: tagselect.RepoMatches, Pattern: "**"}}
	allTags  = []tagselect.Selector{{Decoration: tagselect.Matches, Pattern: "**", Untagged: true}}
)

// rule is a rule of a template over every repository and artifact.
func rule(template string, n int) Rule {
	r := Rule{Template: template, ScopeSelectors: allRepos, TagSelectors: allTags}
	if template != Always {
		r.Params = map[string]int{template: n}
	}
	return r
}

func TestValidate(t *testing.T) {
	sixteen := make([]Rule, MaxRules+1)
	for i := range sixteen {
		sixteen[i] = rule(LatestPushedK, i)
	}
	with := func(r Rule, f func(*Rule)) Rule { f(&r); return r }

	for _, tc := range []struct {
		name string
		p    Policy
		msg  string // "" when valid
	}{
		{"empty", Policy{}, ""},
		{"or", Policy{Algorithm: "or", Rules: []Rule{rule(Always, 0)}}, ""},
		{"fifteen", Policy{Rules: sixteen[:MaxRules]}, ""},
		{"every template", Policy{Rules: []Rule{rule(LatestPushedK, 1), rule(LatestPulledN, 1), rule(LatestActiveK, 1),
			rule(NDaysSinceLastPush, 1), rule(NDaysSinceLastPull, 1), rule(LastXDays, 1), rule(Always, 0)}}, ""},
		{"zero", Policy{Rules: []Rule{rule(LatestPushedK, 0)}}, ""},
		{"limits", Policy{Rules: []Rule{rule(LatestPulledN, MaxCount), rule(NDaysSinceLastPull, MaxDays)}}, ""},
		{"no selectors", Policy{Rules: []Rule{{Template: Always}}}, ""},
		{"extra params ignored", Policy{Rules: []Rule{with(rule(Always, 0), func(r *Rule) { r.Params = map[string]int{"x": -1} })}}, ""},

		{"sixteen rules", Policy{Rules: sixteen}, "retention: 16 rules: a policy holds at most 15"},
		{"algorithm", Policy{Algorithm: "and"}, `retention: algorithm "and": only "or" is supported`},
		{"unknown template", Policy{Rules: []Rule{rule(Always, 0), {Template: "latestK"}}},
			`retention: rule 2: unknown template "latestK": want one of latestPushedK, latestPulledN, latestActiveK, nDaysSinceLastPush, nDaysSinceLastPull, lastXDays, always`},
		{"nothing is not registered", Policy{Rules: []Rule{{Template: "nothing"}}}, `unknown template "nothing"`},
		{"empty template", Policy{Rules: []Rule{{}}}, `retention: rule 1: unknown template ""`},
		{"negative K", Policy{Rules: []Rule{rule(LatestPushedK, -1)}}, "retention: rule 1: latestPushedK is -1: less than zero"},
		{"negative days", Policy{Rules: []Rule{rule(NDaysSinceLastPush, -3)}}, "nDaysSinceLastPush is -3: less than zero"},
		{"K too large", Policy{Rules: []Rule{rule(LatestActiveK, MaxCount+1)}}, "latestActiveK is 32767: more than 32766"},
		{"days too large", Policy{Rules: []Rule{rule(LastXDays, MaxDays+1)}}, "lastXDays is 20190905: more than 20190904"},
		{"missing parameter", Policy{Rules: []Rule{{Template: LatestPulledN, Params: map[string]int{LatestPushedK: 3}}}},
			"retention: rule 1: missing parameter latestPulledN for template latestPulledN"},
		{"disabled rules are validated", Policy{Rules: []Rule{with(rule(LatestPushedK, -1), func(r *Rule) { r.Disabled = true })}},
			"less than zero"},
		{"bad tag pattern", Policy{Rules: []Rule{with(rule(Always, 0), func(r *Rule) {
			r.TagSelectors = []tagselect.Selector{{Decoration: tagselect.Matches, Pattern: "v["}}
		})}}, `retention: rule 1: tag selector 1: invalid selector: pattern "v[" is malformed`},
		{"bad repository pattern", Policy{Rules: []Rule{with(rule(Always, 0), func(r *Rule) {
			r.ScopeSelectors = []tagselect.Selector{{Decoration: tagselect.RepoMatches, Pattern: "{a,b"}}
		})}}, `retention: rule 1: repository selector 1: invalid selector: pattern "{a,b" is malformed`},
		{"tag decoration in scope", Policy{Rules: []Rule{with(rule(Always, 0), func(r *Rule) { r.ScopeSelectors = allTags })}},
			`repository selector 1: invalid selector: decoration "matches": want repoMatches or repoExcludes`},
		{"scope decoration in tags", Policy{Rules: []Rule{with(rule(Always, 0), func(r *Rule) { r.TagSelectors = allRepos })}},
			`tag selector 1: invalid selector: decoration "repoMatches": want matches or excludes`},
		{"unknown kind", Policy{Rules: []Rule{with(rule(Always, 0), func(r *Rule) {
			r.TagSelectors = []tagselect.Selector{{Kind: "label", Decoration: tagselect.Matches, Pattern: "x"}}
		})}}, `tag selector 1: invalid selector: kind "label": want "doublestar"`},

		{"label selectors", Policy{Rules: []Rule{with(rule(Always, 0), func(r *Rule) {
			r.LabelSelectors = []LabelSelector{{Decoration: WithLabels, Labels: []string{"keep", "prod env", "été"}},
				{Decoration: WithoutLabels, Labels: []string{strings.Repeat("x", MaxLabelName)}}}
		})}}, ""},
		{"label selector decoration", Policy{Rules: []Rule{with(rule(Always, 0), func(r *Rule) {
			r.LabelSelectors = []LabelSelector{{Decoration: "matches", Labels: []string{"a"}}}
		})}}, `retention: rule 1: label selector 1: decoration "matches": want withLabels or withoutLabels`},
		{"label selector without labels", Policy{Rules: []Rule{with(rule(Always, 0), func(r *Rule) {
			r.LabelSelectors = []LabelSelector{{Decoration: WithLabels}}
		})}}, "label selector 1: no labels: name 1 to 32"},
		{"label selector of too many labels", Policy{Rules: []Rule{with(rule(Always, 0), func(r *Rule) {
			r.LabelSelectors = []LabelSelector{{Decoration: WithLabels, Labels: make([]string, MaxSelectorLabels+1)}}
		})}}, "label selector 1: 33 labels: at most 32"},
		{"empty label name", Policy{Rules: []Rule{with(rule(Always, 0), func(r *Rule) {
			r.LabelSelectors = []LabelSelector{{Decoration: WithoutLabels, Labels: []string{"a", ""}}}
		})}}, "label selector 1: label 2 has an empty name"},
		{"long label name", Policy{Rules: []Rule{with(rule(Always, 0), func(r *Rule) {
			r.LabelSelectors = []LabelSelector{{Decoration: WithLabels, Labels: []string{strings.Repeat("x", MaxLabelName+1)}}}
		})}}, "label 1: name longer than 128 bytes"},
		{"label name with a control character", Policy{Rules: []Rule{with(rule(Always, 0), func(r *Rule) {
			r.LabelSelectors = []LabelSelector{{Decoration: WithLabels, Labels: []string{"a\nb"}}}
		})}}, `label 1: name "a\nb" has invalid characters`},
		{"label name with surrounding spaces", Policy{Rules: []Rule{with(rule(Always, 0), func(r *Rule) {
			r.LabelSelectors = []LabelSelector{{Decoration: WithLabels, Labels: []string{" a"}}}
		})}}, `label 1: name " a" has surrounding spaces`},
		{"too many label selectors", Policy{Rules: []Rule{with(rule(Always, 0), func(r *Rule) {
			r.LabelSelectors = make([]LabelSelector, MaxLabelSelectors+1)
		})}}, "retention: rule 1: 9 label selectors: a rule holds at most 8"},
		{"disabled rules' label selectors are validated", Policy{Rules: []Rule{with(rule(Always, 0), func(r *Rule) {
			r.Disabled = true
			r.LabelSelectors = []LabelSelector{{Decoration: WithLabels}}
		})}}, "rule 1: label selector 1: no labels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.p)
			if tc.msg == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, core.ErrInvalid)
			status, _ := core.HTTPStatus(err)
			assert.Equal(t, 400, status)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	rules := make([]Rule, MaxRules+1)
	for i := range rules {
		rules[i] = rule(Always, 0)
	}
	rules[3] = Rule{Template: "bogus"}
	rules[7] = rule(LatestPushedK, -1)
	err := Validate(Policy{Algorithm: "xor", Rules: rules})
	require.ErrorIs(t, err, core.ErrInvalid)
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, 4, err.Error())
	assert.Contains(t, lines[0], "algorithm")
	assert.Contains(t, lines[1], "16 rules")
	assert.Contains(t, lines[2], "rule 4: unknown template")
	assert.Contains(t, lines[3], "rule 8: latestPushedK is -1")
}

func TestTemplates(t *testing.T) {
	ids := map[string]Template{}
	for _, tp := range Templates() {
		ids[tp.ID] = tp
		if tp.ID == Always {
			assert.Empty(t, tp.Param)
			continue
		}
		assert.Equal(t, tp.ID, tp.Param, "Harbor names the parameter after the template")
		assert.Contains(t, []string{"count", "days"}, tp.Unit)
	}
	assert.Len(t, ids, 7)
	assert.Equal(t, "days", ids[NDaysSinceLastPull].Unit)
	assert.Equal(t, "count", ids[LatestActiveK].Unit)
}

func TestRulesColumn(t *testing.T) {
	// A row stored before label selectors existed reads back as it did.
	old := `[{"template":"latestPushedK","params":{"latestPushedK":3},` +
		`"tag_selectors":[{"kind":"doublestar","decoration":"matches","pattern":"v*","untagged":true}],` +
		`"scope_selectors":[{"kind":"doublestar","decoration":"repoMatches","pattern":"**"}]}]`
	rules, err := decodeRules(old)
	require.NoError(t, err)
	want := []Rule{{Template: LatestPushedK, Params: map[string]int{LatestPushedK: 3},
		TagSelectors:   []tagselect.Selector{{Kind: "doublestar", Decoration: "matches", Pattern: "v*", Untagged: true}},
		ScopeSelectors: []tagselect.Selector{{Kind: "doublestar", Decoration: "repoMatches", Pattern: "**"}}}}
	assert.Equal(t, want, rules)
	assert.Nil(t, rules[0].LabelSelectors)
	assert.JSONEq(t, old, encodeRules(rules), "a rule without label selectors is stored as before")

	with := want
	with[0].LabelSelectors = []LabelSelector{{Decoration: WithLabels, Labels: []string{"a", "b"}},
		{Decoration: WithoutLabels, Labels: []string{"c"}}}
	raw := encodeRules(with)
	assert.Contains(t, raw, `"label_selectors":[{"decoration":"withLabels","labels":["a","b"]},{"decoration":"withoutLabels","labels":["c"]}]`)
	back, err := decodeRules(raw)
	require.NoError(t, err)
	assert.Equal(t, with, back)
}
