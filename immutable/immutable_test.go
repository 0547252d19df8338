package immutable

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/tagselect"
)

// sel is a list of one selector.
func sel(decoration, pattern string) []tagselect.Selector {
	return []tagselect.Selector{{Decoration: decoration, Pattern: pattern}}
}

func rule(id int64, repoDec, repoPat, tagDec, tagPat string) Rule {
	return Rule{ID: id, ScopeSelectors: sel(repoDec, repoPat), TagSelectors: sel(tagDec, tagPat)}
}

func TestCheck(t *testing.T) {
	all := rule(1, tagselect.RepoMatches, "**", tagselect.Matches, "v*")
	web := rule(2, tagselect.RepoMatches, "app/*", tagselect.Matches, "**")
	notTmp := rule(3, tagselect.RepoExcludes, "tmp", tagselect.Excludes, "{latest,dev-*}")
	disabled := rule(4, tagselect.RepoMatches, "**", tagselect.Matches, "**")
	disabled.Disabled = true
	noScope := Rule{ID: 5, TagSelectors: sel(tagselect.Matches, "**")}
	noTags := Rule{ID: 6, ScopeSelectors: sel(tagselect.RepoMatches, "**")}
	broken := rule(7, tagselect.RepoMatches, "**", tagselect.Excludes, "v[")
	twoTagSelectors := Rule{ID: 8, ScopeSelectors: sel(tagselect.RepoMatches, "**"), TagSelectors: []tagselect.Selector{
		{Decoration: tagselect.Matches, Pattern: "release-*"}, {Decoration: tagselect.Excludes, Pattern: "*-rc*"}}}

	for _, tc := range []struct {
		name  string
		rules []Rule
		repo  string
		tag   string
		want  int64 // rule id; 0 when mutable
	}{
		{"no rules", nil, "library/app", "v1", 0},
		{"matches", []Rule{all}, "library/app", "v1", 1},
		{"matches not", []Rule{all}, "library/app", "latest", 0},
		{"project is not part of the name", []Rule{rule(1, tagselect.RepoMatches, "library/**", tagselect.Matches, "**")}, "library/app", "v1", 0},
		{"nested repository", []Rule{web}, "library/app/web", "latest", 2},
		{"star stops at slash", []Rule{web}, "library/app/web/x", "latest", 0},
		{"excludes both", []Rule{notTmp}, "library/app", "v1", 3},
		{"excluded tag", []Rule{notTmp}, "library/app", "dev-7", 0},
		{"excluded repository", []Rule{notTmp}, "library/tmp", "v1", 0},
		{"disabled", []Rule{disabled}, "library/app", "v1", 0},
		{"no scope selector holds nothing", []Rule{noScope}, "library/app", "v1", 0},
		{"no tag selector holds nothing", []Rule{noTags}, "library/app", "v1", 0},
		{"malformed holds nothing", []Rule{broken}, "library/app", "x", 0},
		{"first rule wins", []Rule{disabled, web, all}, "library/app/web", "v1", 2},
		{"later rule", []Rule{web, all}, "library/other", "v1", 1},
		{"every selector must pick", []Rule{twoTagSelectors}, "library/app", "release-1-rc1", 0},
		{"every selector picks", []Rule{twoTagSelectors}, "library/app", "release-1", 8},
		{"no project part: whole name", []Rule{web}, "app/web", "v1", 0},
		{"no project part: whole name matches", []Rule{rule(9, tagselect.RepoMatches, "app", tagselect.Matches, "**")}, "app", "v1", 9},
		{"empty tag", []Rule{all, disabled}, "library/app", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, r := Check(tc.rules, tc.repo, tc.tag)
			assert.Equal(t, tc.want != 0, ok)
			assert.Equal(t, tc.want, r.ID)
		})
	}
}

func TestRefusals(t *testing.T) {
	rules := []Rule{rule(11, tagselect.RepoMatches, "**", tagselect.Matches, "v*")}
	for _, tc := range []struct {
		name string
		err  error
		op   Operation
		msg  string // "" when allowed
	}{
		{"push a new tag", CheckPush(rules, "library/app", "v1", "", "sha256:b"), 0, ""},
		{"push the same manifest again", CheckPush(rules, "library/app", "v1", "sha256:a", "sha256:a"), 0, ""},
		{"move an immutable tag", CheckPush(rules, "library/app", "v1", "sha256:a", "sha256:b"), MoveTag,
			"the tag v1 configured as immutable, cannot be updated"},
		{"move a mutable tag", CheckPush(rules, "library/app", "latest", "sha256:a", "sha256:b"), 0, ""},
		{"delete an immutable tag", CheckDeleteTag(rules, "library/app", "v1"), DeleteTag,
			"the tag v1 configured as immutable, cannot be deleted"},
		{"delete a mutable tag", CheckDeleteTag(rules, "library/app", "latest"), 0, ""},
		{"delete an artifact holding one", CheckDeleteArtifact(rules, "library/app", []string{"latest", "v2", "v1"}), DeleteArtifact,
			"the tag v2 configured as immutable, cannot be deleted"},
		{"delete an artifact holding none", CheckDeleteArtifact(rules, "library/app", []string{"latest"}), 0, ""},
		{"delete an untagged artifact", CheckDeleteArtifact(rules, "library/app", nil), 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.msg == "" {
				require.NoError(t, tc.err)
				return
			}
			require.Error(t, tc.err)
			assert.EqualError(t, tc.err, tc.msg)
			assert.ErrorIs(t, tc.err, ErrImmutable)
			assert.ErrorIs(t, tc.err, core.ErrPrecondition)
			status, ok := core.HTTPStatus(tc.err)
			assert.True(t, ok)
			assert.Equal(t, http.StatusPreconditionFailed, status)
			var e *Error
			require.ErrorAs(t, tc.err, &e)
			assert.Equal(t, tc.op, e.Op)
			assert.Equal(t, "library/app", e.Repository)
			assert.Equal(t, int64(11), e.Rule.ID)
		})
	}
}

func TestCheckTags(t *testing.T) {
	rules := []Rule{rule(1, tagselect.RepoMatches, "**", tagselect.Matches, "v*")}
	tag, r, ok := CheckTags(rules, "p/app", []string{"a", "v3", "v1"})
	assert.True(t, ok)
	assert.Equal(t, "v3", tag)
	assert.Equal(t, int64(1), r.ID)
	_, _, ok = CheckTags(rules, "p/app", []string{"a"})
	assert.False(t, ok)
}

func TestOperationString(t *testing.T) {
	assert.Equal(t, "move tag", MoveTag.String())
	assert.Equal(t, "delete tag", DeleteTag.String())
	assert.Equal(t, "delete artifact", DeleteArtifact.String())
	assert.Equal(t, "Operation(9)", Operation(9).String())
	assert.EqualError(t, Refuse(DeleteArtifact, "p/a", "x", Rule{}), "the tag x configured as immutable, cannot be deleted")
}

func TestValidate(t *testing.T) {
	ok := rule(1, tagselect.RepoMatches, "**", tagselect.Matches, "**")
	many := make([]Rule, MaxRules+1)
	for i := range many {
		many[i] = rule(int64(i+1), tagselect.RepoMatches, "**", tagselect.Matches, "v*")
	}
	for _, tc := range []struct {
		name  string
		rules []Rule
		msg   string // "" when valid
	}{
		{"none", nil, ""},
		{"one", []Rule{ok}, ""},
		{"fifteen", many[:MaxRules], ""},
		{"sixteen", many, "immutable: 16 rules: a project holds at most 15"},
		{"disabled still validated", []Rule{{Disabled: true, ScopeSelectors: sel(tagselect.RepoMatches, "**")}},
			`immutable: rule 1: no tag selector (matches "**" is every tag)`},
		{"no scope", []Rule{{TagSelectors: sel(tagselect.Matches, "**")}},
			`immutable: rule 1: no repository selector (repoMatches "**" is every repository)`},
		{"bad pattern", []Rule{ok, rule(2, tagselect.RepoMatches, "**", tagselect.Matches, "v[")},
			`immutable: rule 2: tag selector 1: invalid selector: pattern "v[" is malformed`},
		{"tag decoration as scope", []Rule{rule(0, tagselect.Matches, "**", tagselect.Matches, "**")},
			`immutable: rule 1: repository selector 1: invalid selector: decoration "matches": want repoMatches or repoExcludes`},
		{"scope decoration as tag", []Rule{rule(0, tagselect.RepoMatches, "**", tagselect.RepoExcludes, "**")},
			`immutable: rule 1: tag selector 1: invalid selector: decoration "repoExcludes": want matches or excludes`},
		{"duplicate id", []Rule{ok, ok}, "immutable: rule 2: id 1 is rule 1's too"},
		{"zero ids may repeat", []Rule{rule(0, tagselect.RepoMatches, "**", tagselect.Matches, "a"),
			rule(0, tagselect.RepoMatches, "**", tagselect.Matches, "b")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.rules)
			if tc.msg == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, core.ErrInvalid)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}

	// Every problem is reported.
	err := Validate(append(many, Rule{}))
	assert.Len(t, strings.Split(err.Error(), "\n"), 2, err.Error())
	assert.True(t, errors.Is(err, core.ErrInvalid))
}
