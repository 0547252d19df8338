package ldap

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	userAlice = "uid=alice,ou=people,dc=x"
	userBob   = "uid=bob,ou=people,dc=x"
	userDave  = "uid=dave,ou=people,dc=x"
)

func g(cn string) string { return "cn=" + cn + ",ou=groups,dc=x" }

// directory: devs ⊂ platform ⊂ org; loop-a ↔ loop-b; dave in nothing.
func testGroups() map[string][]string {
	return map[string][]string{
		g("devs"):     {userAlice},
		g("platform"): {g("devs")},
		g("org"):      {g("platform")},
		g("loop-a"):   {userBob, g("loop-b")},
		g("loop-b"):   {g("loop-a")},
	}
}

func newTestAuth(t *testing.T, mode NestedMode, depth int) *Authenticator {
	t.Helper()
	a, err := New(Config{URL: "ldap://fake.invalid", BaseDN: "dc=x", GroupFilter: "(objectClass=groupOfNames)",
		Nested: mode, MaxDepth: depth})
	require.NoError(t, err)
	return a
}

func names(groups []Group) []string {
	out := make([]string, len(groups))
	for i, g := range groups {
		out[i] = g.Name
	}
	return out
}

func TestGroupsByMode(t *testing.T) {
	tests := []struct {
		name    string
		mode    NestedMode
		server  inChainBehaviour
		depth   int
		user    string
		want    []string
		wantErr error
	}{
		{"off: direct only", NestedOff, inChainEvaluated, 0, userAlice, []string{"devs"}, nil},
		{"recursive: two levels", NestedRecursive, inChainUndefined, 0, userAlice, []string{"devs", "org", "platform"}, nil},
		{"recursive: MaxDepth 2 stops before org", NestedRecursive, inChainUndefined, 2, userAlice, []string{"devs", "platform"}, nil},
		{"recursive: MaxDepth 1 is direct only", NestedRecursive, inChainUndefined, 1, userAlice, []string{"devs"}, nil},
		{"recursive: cycle ends", NestedRecursive, inChainUndefined, 0, userBob, []string{"loop-a", "loop-b"}, nil},
		{"recursive: no groups", NestedRecursive, inChainUndefined, 0, userDave, []string{}, nil},
		{"in-chain on AD", NestedInChain, inChainEvaluated, 0, userAlice, []string{"devs", "org", "platform"}, nil},
		{"in-chain on AD: cycle", NestedInChain, inChainEvaluated, 0, userBob, []string{"loop-a", "loop-b"}, nil},
		{"in-chain on OpenLDAP-like server", NestedInChain, inChainUndefined, 0, userAlice, nil, ErrInChainUnsupported},
		{"in-chain on rejecting server", NestedInChain, inChainRejected, 0, userAlice, nil, ErrInChainUnsupported},
		// No direct group: nothing nested either, whatever the server does.
		{"in-chain, no direct groups", NestedInChain, inChainUndefined, 0, userDave, []string{}, nil},
		{"auto on AD", NestedAuto, inChainEvaluated, 0, userAlice, []string{"devs", "org", "platform"}, nil},
		{"auto on OpenLDAP-like server", NestedAuto, inChainUndefined, 0, userAlice, []string{"devs", "org", "platform"}, nil},
		{"auto on rejecting server", NestedAuto, inChainRejected, 0, userAlice, []string{"devs", "org", "platform"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestAuth(t, tt.mode, tt.depth)
			groups, err := a.groups(context.Background(), newFakeDir(tt.server, testGroups()), tt.user)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Contains(t, err.Error(), InChainOID, "the error names the rule")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, names(groups))
			for _, gr := range groups {
				assert.Equal(t, g(gr.Name), gr.DN)
			}
		})
	}
}

func TestAutoRemembersInChainUnsupported(t *testing.T) {
	a := newTestAuth(t, NestedAuto, 0)
	dir := newFakeDir(inChainUndefined, testGroups())
	ctx := context.Background()

	_, err := a.groups(ctx, dir, userAlice)
	require.NoError(t, err)
	first := dir.Queries()
	assert.Contains(t, strings.Join(first, " "), InChainOID, "auto tries in-chain first")

	groups, err := a.groups(ctx, dir, userAlice)
	require.NoError(t, err)
	assert.Equal(t, []string{"devs", "org", "platform"}, names(groups))
	assert.NotContains(t, strings.Join(dir.Queries()[len(first):], " "), InChainOID,
		"once the server is known not to evaluate the rule, auto goes straight to recursive")
}

func TestAutoKeepsInChainOnAD(t *testing.T) {
	a := newTestAuth(t, NestedAuto, 0)
	dir := newFakeDir(inChainEvaluated, testGroups())
	for range 2 {
		_, err := a.groups(context.Background(), dir, userAlice)
		require.NoError(t, err)
	}
	// Per login: the direct search and the in-chain search, no level-by-level searches.
	assert.Equal(t, []string{
		"(&(objectClass=groupOfNames)(member=uid=alice,ou=people,dc=x))",
		"(&(objectClass=groupOfNames)(member:1.2.840.113556.1.4.1941:=uid=alice,ou=people,dc=x))",
		"(&(objectClass=groupOfNames)(member=uid=alice,ou=people,dc=x))",
		"(&(objectClass=groupOfNames)(member:1.2.840.113556.1.4.1941:=uid=alice,ou=people,dc=x))",
	}, dir.Queries())
}

func TestRecursiveBatchesWideLevels(t *testing.T) {
	// alice is directly in 70 teams, every team is in "all": the second
	// level is asked for in ORed batches of groupBatchSize DNs.
	groups := map[string][]string{}
	for i := range 70 {
		team := g(fmt.Sprintf("team-%02d", i))
		groups[team] = []string{userAlice}
		groups[g("all")] = append(groups[g("all")], team)
	}
	a := newTestAuth(t, NestedRecursive, 0)
	dir := newFakeDir(inChainUndefined, groups)
	got, err := a.groups(context.Background(), dir, userAlice)
	require.NoError(t, err)
	assert.Len(t, got, 71)
	// direct + 3 batches (32+32+6) for level 2 + 1 for level 3 (parents of "all": none).
	assert.Len(t, dir.Queries(), 5)
}

func TestGroupSearchErrors(t *testing.T) {
	down := goldap.NewError(goldap.ErrorNetwork, errors.New("ldap: connection closed"))
	for _, mode := range []NestedMode{NestedAuto, NestedInChain, NestedRecursive} {
		t.Run(string(mode), func(t *testing.T) {
			dir := newFakeDir(inChainEvaluated, testGroups())
			dir.failOnFilter, dir.failErr = "member", down
			_, err := newTestAuth(t, mode, 0).groups(context.Background(), dir, userAlice)
			require.ErrorIs(t, err, ErrUnavailable)
			assert.NotErrorIs(t, err, ErrInChainUnsupported, "an outage is not a missing feature")
		})
	}
	t.Run("auto does not give up in-chain on an outage", func(t *testing.T) {
		a := newTestAuth(t, NestedAuto, 0)
		dir := newFakeDir(inChainEvaluated, testGroups())
		dir.failOnFilter, dir.failErr = InChainOID, down
		_, err := a.groups(context.Background(), dir, userAlice)
		require.ErrorIs(t, err, ErrUnavailable)
		assert.Equal(t, inChainUnknown, a.inChain.Load())
	})
}
