package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseQForms(t *testing.T) {
	keys := []qKey{qPlain("name"), qRanged("op_time"), qSets("tags"), qSets("project_id")}
	got, err := parseQKeys(`name=~app,op_time=[2024-01-01 00:00:00~2024-02-01 00:00:00],tags=(v1 "v2"),project_id={1 2 3}`, keys...)
	require.NoError(t, err)
	assert.Equal(t, qTerm{kind: qFuzzy, fuzzy: true, value: "app"}, got["name"])
	assert.Equal(t, qTerm{kind: qRange, lo: "2024-01-01 00:00:00", hi: "2024-02-01 00:00:00"}, got["op_time"])
	assert.Equal(t, qTerm{kind: qAll, values: []string{"v1", "v2"}}, got["tags"])
	assert.Equal(t, qTerm{kind: qAny, values: []string{"1", "2", "3"}}, got["project_id"])
	assert.True(t, got["project_id"].matches("2"))
	assert.False(t, got["project_id"].matches("4"))
	assert.True(t, got["op_time"].matches("2024-01-15 10:00:00"))
	assert.False(t, got["op_time"].matches("2024-03-01 00:00:00"))

	// Harbor's clients encode q a second time.
	got, err = parseQKeys("name%3D~app%2Cproject_id%3D%7B1%202%7D", keys...)
	require.NoError(t, err)
	assert.Equal(t, "app", got["name"].value)
	assert.Equal(t, []string{"1", "2"}, got["project_id"].values)

	open, err := parseQKeys("op_time=[~2024-01-01]", keys...)
	require.NoError(t, err)
	assert.Equal(t, "", open["op_time"].lo)
	assert.True(t, open["op_time"].matches("2023-12-31"))
}

func TestParseQRefusals(t *testing.T) {
	keys := []qKey{qPlain("name"), qRanged("op_time"), qSets("tags")}
	for q, want := range map[string]string{
		"name=[a~b]":    `q key "name": a range is not supported for it; it takes key=value and key=~value`,
		"name={a b}":    `q key "name": a {union} is not supported`,
		"tags=[a~b]":    `q key "tags": a range is not supported`,
		"op_time=(a)":   `q key "op_time": an (intersection) is not supported`,
		"op_time=[~]":   `range "[~]": want [min~max]`,
		"tags={}":       `want 1 to 100 values`,
		"tags={a b":     "unbalanced brackets",
		"tags={a {b}}":  "nested brackets",
		"owner=x":       `q key "owner" is not supported here; supported keys: name, op_time, tags`,
		"name=a,name=b": `q key "name" given twice`,
		"name=":         `q key "name" has an empty value`,
		"noequals":      "want key=value",
		"a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,j=10,k=11,l=12,m=13,n=14,o=15,p=16,q=17": "at most 16",
	} {
		_, err := parseQKeys(q, keys...)
		require.Error(t, err, q)
		assert.Contains(t, err.Error(), want, q)
		var e *apiError
		require.ErrorAs(t, err, &e, q)
		assert.Equal(t, http.StatusBadRequest, e.Status, q)
	}
}

func TestParseSort(t *testing.T) {
	keys, err := parseSort("name,-creation_time", "name", "creation_time")
	require.NoError(t, err)
	assert.Equal(t, []sortKey{{field: "name"}, {field: "creation_time", desc: true}}, keys)
	type item struct{ name, created string }
	items := []item{{"b", "1"}, {"a", "1"}, {"a", "2"}}
	sortBy(items, keys, map[string]func(*item) string{
		"name": func(i *item) string { return i.name }, "creation_time": func(i *item) string { return i.created }})
	assert.Equal(t, []item{{"a", "2"}, {"a", "1"}, {"b", "1"}}, items)

	_, err = parseSort("size", "name")
	require.ErrorContains(t, err, `sort by "size" is not supported here; supported fields: name`)
	_, err = parseSort("name,-name", "name")
	require.ErrorContains(t, err, "given twice")
}

// FuzzParseQ: any q is either refused with 400 or parsed into terms of
// the declared keys, each of the forms its key takes; never a panic.
func FuzzParseQ(f *testing.F) {
	for _, seed := range []string{"name=~app", "tags=(v1 v2),project_id={1 2}", "op_time=[2024-01-01~]",
		"name%3D~a%2Cop_time%3D%5B1~2%5D", "a={b", "name=\"x\"", ",,,", "tags=( )"} {
		f.Add(seed)
	}
	keys := []qKey{qPlain("name"), qRanged("op_time"), qSets("tags"), qSets("project_id")}
	f.Fuzz(func(t *testing.T, q string) {
		terms, err := parseQKeys(q, keys...)
		if err != nil {
			var e *apiError
			require.ErrorAs(t, err, &e)
			require.Equal(t, http.StatusBadRequest, e.Status)
			return
		}
		require.LessOrEqual(t, len(terms), maxQTerms)
		for k, term := range terms {
			switch term.kind {
			case qRange:
				require.Equal(t, "op_time", k)
			case qAny, qAll:
				require.Contains(t, []string{"tags", "project_id"}, k)
				require.NotEmpty(t, term.values)
				require.LessOrEqual(t, len(term.values), maxQValues)
			default:
				require.NotEmpty(t, term.value)
			}
		}
	})
}
