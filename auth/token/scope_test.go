package token

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
)

func TestParseScope(t *testing.T) {
	tests := []struct {
		in   string
		want []registry.Access
	}{
		{"", nil},
		{"repository:foo:pull", []registry.Access{repo("foo", "pull")}},
		{"repository:library/nginx:pull,push", []registry.Access{repo("library/nginx", "pull", "push")}},
		{"repository:a/b/c:delete,*", []registry.Access{repo("a/b/c", "delete", "*")}},
		{"repository:foo:pull,pull,push", []registry.Access{repo("foo", "pull", "push")}},
		{"registry:catalog:*", []registry.Access{catalog()}},
		{"repository(plugin):foo:pull", []registry.Access{repo("foo", "pull")}},
		{"repository:a:pull repository:b:push  registry:catalog:*",
			[]registry.Access{repo("a", "pull"), repo("b", "push"), catalog()}},
		{"repository:a:pull repository:a:push", []registry.Access{repo("a", "pull"), repo("a", "push")}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseScope(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseScopeInvalid(t *testing.T) {
	for _, in := range []string{
		"repository",
		"repository:foo",
		"repository:foo:",
		"repository:foo:pull,",
		"repository:foo:scan",
		"repository:Foo:pull",
		"repository::pull",
		"repository:localhost:5000/foo:pull",
		"repository:foo/:pull",
		"repository:../etc:pull",
		"registry:catalog:pull",
		"registry:other:*",
		"plugin:foo:pull",
		":foo:pull",
		"repository(:foo:pull",
		"repository():foo:pull",
		"repository(Plugin):foo:pull",
		"repository(plugin)x:foo:pull",
		"repository:foo:pull repository:foo:bad",
		strings.Repeat("repository:a:pull ", 300),
	} {
		t.Run(in, func(t *testing.T) {
			got, err := ParseScope(in)
			require.ErrorIs(t, err, ErrInvalidScope)
			assert.Nil(t, got)
		})
	}
}

func TestFormatScope(t *testing.T) {
	assert.Equal(t, "", FormatScope(nil))
	assert.Equal(t, "", FormatScope([]registry.Access{repo("a")}))
	assert.Equal(t, "repository:a:pull,push registry:catalog:*",
		FormatScope([]registry.Access{repo("a", "pull", "push"), repo("b"), catalog()}))
}

func TestIntersect(t *testing.T) {
	tests := []struct {
		name               string
		requested, granted []registry.Access
		want               []registry.Access
	}{
		{"exact", []registry.Access{repo("a", "pull", "push")}, []registry.Access{repo("a", "pull", "push")},
			[]registry.Access{repo("a", "pull", "push")}},
		{"subset", []registry.Access{repo("a", "pull", "push")}, []registry.Access{repo("a", "pull")},
			[]registry.Access{repo("a", "pull")}},
		{"more actions than requested", []registry.Access{repo("a", "pull")}, []registry.Access{repo("a", "pull", "push", "delete")},
			[]registry.Access{repo("a", "pull")}},
		{"star granted narrows to requested", []registry.Access{repo("a", "pull")}, []registry.Access{repo("a", "*")},
			[]registry.Access{repo("a", "pull")}},
		{"star requested, narrower granted", []registry.Access{repo("a", "*")}, []registry.Access{repo("a", "pull", "scan")},
			[]registry.Access{repo("a", "pull")}},
		{"other repository dropped", []registry.Access{repo("a", "pull")}, []registry.Access{repo("b", "pull"), catalog()},
			nil},
		{"nothing granted", []registry.Access{repo("a", "pull")}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := intersect(tt.requested, tt.granted)
			if tt.want == nil {
				assert.Empty(t, got)
				return
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"repository:foo:pull", "registry:catalog:*", "repository(plugin):a/b:pull,push",
		"repository:a:pull repository:b:delete", "repository:a:", "x:y:z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		acc, err := ParseScope(s)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidScope)
			return
		}
		for _, a := range acc {
			require.Empty(t, checkAccess(a))
		}
		again, err := ParseScope(FormatScope(acc))
		require.NoError(t, err)
		require.Equal(t, acc, again)
	})
}
