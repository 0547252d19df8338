package project_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/registry"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string // substring; "" = valid
	}{
		{"library", ""},
		{"a", ""},
		{"my.team", ""},
		{"my_team", ""},
		{"my__team", ""},
		{"my---team", ""},
		{"0day", ""},
		{strings.Repeat("a", 255), ""},
		{"", "empty"},
		{strings.Repeat("a", 256), "256 characters long, the limit is 255"},
		{"Library", "upper-case 'L' at offset 0; names are lower-case"},
		{"libRary", "upper-case 'R' at offset 3"},
		{"a..b", `separator ".." at offset 1`},
		{"a___b", `separator "___"`},
		{"a.-b", `separator ".-"`},
		{".hidden", "starts with '.'"},
		{"-x", "starts with '-'"},
		{"trailing-", `ends with "-"`},
		{"lib/app", "contains '/'"},
		{"a b", "character ' ' at offset 1"},
		{"caf\xc3\xa9", "character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := project.ValidateName(tt.name)
			if tt.wantErr == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, project.ErrInvalid)
				assert.ErrorContains(t, err, tt.wantErr)
			}
			// The project is one component of a repository name: the
			// registry must agree.
			assert.Equal(t, err == nil, tt.name != "" && !strings.Contains(tt.name, "/") && registry.ValidName(tt.name))
		})
	}
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"library", "a..b", "a__b", "a-_b", "A", "x-", "a---b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		want := name != "" && !strings.Contains(name, "/") && registry.ValidName(name)
		assert.Equal(t, want, project.ValidateName(name) == nil)
	})
}

func TestProjectOf(t *testing.T) {
	tests := []struct {
		repo, project string
		ok            bool
	}{
		{"library/nginx", "library", true},
		{"team/app/api", "team", true},
		{"nginx", "nginx", false},
		{"/nginx", "", false},
		{"library/", "library", false},
	}
	for _, tt := range tests {
		p, ok := project.ProjectOf(tt.repo)
		assert.Equal(t, tt.project, p, tt.repo)
		assert.Equal(t, tt.ok, ok, tt.repo)
	}
}
