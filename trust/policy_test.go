package trust_test

import (
	"context"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/trust"
)

func TestEvaluate(t *testing.T) {
	art := trust.Artifact{Repository: "p/app", Digest: digest.FromString("x")}
	release := trust.Signer{Name: "release", KeyID: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
	builder := trust.Signer{Name: "ca", Subject: "CN=builder,O=Example"}
	cosignOK := trust.Signature{Format: trust.FormatCosign, Form: "tag", Verified: true, Signer: release}
	notationOK := trust.Signature{Format: trust.FormatNotation, Form: "jws", Verified: true, Signer: builder}
	bad := trust.Signature{Format: trust.FormatCosign, Form: "tag", Reason: "made by an untrusted key"}
	for _, tc := range []struct {
		name   string
		policy trust.Policy
		sigs   []trust.Signature
		allow  bool
		reason string
	}{
		{"off", trust.Policy{}, nil, true, "content trust is off"},
		{"any, unsigned", trust.Policy{Mode: trust.ModeAny}, nil, false, "no signature found"},
		{"any, untrusted", trust.Policy{Mode: trust.ModeAny}, []trust.Signature{bad}, false, "found 1 cosign signature; cosign (tag): made by an untrusted key"},
		{"any, cosign", trust.Policy{Mode: trust.ModeAny}, []trust.Signature{bad, cosignOK}, true, `signed by "release"`},
		{"notation only", trust.Policy{Mode: trust.ModeAny, Format: trust.FormatNotation}, []trust.Signature{cosignOK}, false, "requires notation signatures"},
		{"notation", trust.Policy{Mode: trust.ModeAny, Format: trust.FormatNotation}, []trust.Signature{notationOK}, true, "subject CN=builder"},
		{"signer by name", trust.Policy{Mode: trust.ModeSigners, Signers: []string{"release"}}, []trust.Signature{cosignOK}, true, ""},
		{"signer by key id prefix", trust.Policy{Mode: trust.ModeSigners, Signers: []string{"0123456789abcdef"}}, []trust.Signature{cosignOK}, true, ""},
		{"key id prefix too short", trust.Policy{Mode: trust.ModeSigners, Signers: []string{"0123"}}, []trust.Signature{cosignOK}, false, "not a named signer"},
		{"signer by subject", trust.Policy{Mode: trust.ModeSigners, Signers: []string{"CN=builder, O=Example"}}, []trust.Signature{notationOK}, true, ""},
		{"other signer", trust.Policy{Mode: trust.ModeSigners, Signers: []string{"someone"}}, []trust.Signature{cosignOK, notationOK}, false,
			`one of the signers "someone": found 1 cosign signature and 1 notation signature`},
		{"invalid policy", trust.Policy{Mode: "maybe"}, []trust.Signature{cosignOK}, false, "policy is invalid"},
		{"signers without names", trust.Policy{Mode: trust.ModeSigners}, []trust.Signature{cosignOK}, false, "at least one signer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := trust.Evaluate(art, tc.sigs, tc.policy)
			assert.Equal(t, tc.allow, d.Allowed, d.Reason)
			assert.Contains(t, d.Reason, tc.reason)
		})
	}
}

type fixedPolicies struct{ eff trust.Effective }

func (f fixedPolicies) Effective(context.Context, string) (trust.Effective, error) { return f.eff, nil }

func TestProjectModes(t *testing.T) {
	ctx := context.Background()
	mode := ""
	inner := fixedPolicies{trust.Effective{Policy: trust.Policy{Mode: trust.ModeOff}, Inherited: true, Version: 7}}
	p := trust.WithProjects(inner, func(_ context.Context, name string) (string, string, error) { return name, mode, nil })
	versions := map[uint64]bool{}
	for _, tc := range []struct {
		mode   string
		want   trust.Mode
		format trust.Format
	}{{"", trust.ModeOff, ""}, {"enabled", trust.ModeAny, trust.FormatEither}, {"cosign", trust.ModeAny, trust.FormatCosign},
		{"notation", trust.ModeAny, trust.FormatNotation}, {"off", trust.ModeOff, trust.FormatEither}, {"bogus", trust.ModeSigners, ""}} {
		mode = tc.mode
		eff, err := p.Effective(ctx, "proj")
		require.NoError(t, err)
		assert.Equal(t, tc.want, eff.Policy.Mode, tc.mode)
		if tc.format != "" {
			assert.Equal(t, tc.format, eff.Policy.Format)
		}
		assert.False(t, versions[eff.Version], "version %d reused", eff.Version)
		versions[eff.Version] = true
	}
	// A project's own policy wins over its metadata.
	inner.eff.Inherited = false
	p = trust.WithProjects(inner, func(_ context.Context, name string) (string, string, error) { return name, "enabled", nil })
	eff, err := p.Effective(ctx, "proj")
	require.NoError(t, err)
	assert.Equal(t, trust.ModeOff, eff.Policy.Mode)
}

func TestProjectKeys(t *testing.T) { onEngines(t, testProjectKeys) }

func testProjectKeys(t *testing.T, db *sqldb.DB) {
	ctx := context.Background()
	st, err := trust.NewStore(ctx, db)
	require.NoError(t, err)
	_, err = st.AddEntry(ctx, trust.ProjectKey(7), "k", mustKey())
	require.NoError(t, err)
	require.NoError(t, st.SetPolicy(ctx, trust.ProjectKey(7), trust.Policy{Mode: trust.ModeAny}))
	id := int64(7)
	p := trust.WithProjects(st, func(_ context.Context, name string) (string, string, error) { return trust.ProjectKey(id), "", nil })
	eff, err := p.Effective(ctx, "proj")
	require.NoError(t, err)
	assert.Equal(t, trust.ModeAny, eff.Policy.Mode)
	assert.Len(t, eff.Keys.Entries, 1)
	id = 8 // the project deleted and created again: a new ID, no settings
	eff, err = p.Effective(ctx, "proj")
	require.NoError(t, err)
	assert.Equal(t, trust.ModeOff, eff.Policy.Mode)
	assert.Empty(t, eff.Keys.Entries)
}
