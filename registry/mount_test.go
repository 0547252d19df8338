package registry

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pullList is a mount source filter that allows the repositories listed
// and records what it was asked.
type pullList struct {
	mu      sync.Mutex
	allowed []string
	asked   [][2]string // project, repository
}

func (p *pullList) may(_ context.Context, project, repository string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked = append(p.asked, [2]string{project, repository})
	return slices.Contains(p.allowed, repository)
}

// A mount without a source takes the blob only from a repository the
// filter allows; else the client gets an upload and the blob stays
// unreadable in the target.
func TestMountSourceFilter(t *testing.T) { onEngines(t, testMountSourceFilter) }

func testMountSourceFilter(t *testing.T) {
	content := []byte("a layer of several repositories")
	tests := []struct {
		name    string
		scoped  bool     // WithProjectScopedAnonymousMount
		holders []string // repositories the blob is pushed to
		allowed []string
		mounted bool
		asked   []string // repositories the filter is asked about
	}{
		{"allowed holder", true, []string{"p/open", "p/secret"}, []string{"p/open"}, true, []string{"p/open"}},
		{"only a denied holder", true, []string{"p/secret"}, nil, false, []string{"p/secret"}},
		{"denied then allowed", true, []string{"p/a-secret", "p/b-open"}, []string{"p/b-open"}, true, []string{"p/a-secret", "p/b-open"}},
		{"allowed, but in another project", true, []string{"q/open"}, []string{"q/open"}, false, nil},
		{"registry-wide, allowed", false, []string{"q/open"}, []string{"q/open"}, true, []string{"q/open"}},
		{"registry-wide, denied", false, []string{"q/secret"}, nil, false, []string{"q/secret"}},
		{"already in the target", true, []string{"p/mine"}, nil, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			filter := &pullList{allowed: tt.allowed}
			opts := []Option{WithMountSourceFilter(filter.may)}
			if tt.scoped {
				opts = append(opts, WithProjectScopedAnonymousMount())
			}
			tr := newTestRegistry(t, opts...)
			var d string
			for _, repo := range tt.holders {
				d = tr.pushBlob(repo, content).String()
			}
			r := tr.do(http.MethodPost, "/v2/p/mine/blobs/uploads/?mount="+d, nil, nil)
			if tt.mounted {
				require.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)
				got := tr.do(http.MethodGet, "/v2/p/mine/blobs/"+d, nil, nil)
				require.Equal(t, http.StatusOK, got.Status)
				assert.Equal(t, content, got.Body)
			} else {
				require.Equal(t, http.StatusAccepted, r.Status, "an upload instead: %s", r.Body)
				assert.Equal(t, "0-0", tr.uploadRange(r.Header.Get("Location")))
				tr.requireNoBlob("p/mine", digest.Digest(d))
			}
			var asked []string
			for _, a := range filter.asked {
				assert.Equal(t, projectOf(a[1]), a[0], "the filter gets the candidate's project")
				asked = append(asked, a[1])
			}
			assert.Equal(t, tt.asked, asked)
		})
	}
}

// A mount that names its source is the Authorizer's to allow (pull on
// from); the filter is not asked.
func TestMountFromIgnoresTheFilter(t *testing.T) { onEngines(t, testMountFromIgnoresTheFilter) }

func testMountFromIgnoresTheFilter(t *testing.T) {
	filter := &pullList{}
	tr := newTestRegistry(t, WithMountSourceFilter(filter.may), WithProjectScopedAnonymousMount())
	d := tr.pushBlob("p/src", []byte("named source"))
	r := tr.do(http.MethodPost, "/v2/p/dst/blobs/uploads/?mount="+d.String()+"&from=p/src", nil, nil)
	require.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)
	assert.Empty(t, filter.asked)
}

// The filter is asked about a bounded number of candidates, in name order:
// an allowed holder past them is not found, and the client uploads.
func TestMountCandidatesAreBounded(t *testing.T) { onEngines(t, testMountCandidatesAreBounded) }

func testMountCandidatesAreBounded(t *testing.T) {
	filter := &pullList{allowed: []string{"p/zz-open"}}
	tr := newTestRegistry(t, WithMountSourceFilter(filter.may), WithProjectScopedAnonymousMount())
	content := []byte("a popular base layer")
	var d string
	for i := range maxMountCandidates {
		d = tr.pushBlob(fmt.Sprintf("p/r%03d", i), content).String()
	}
	tr.pushBlob("p/zz-open", content)
	r := tr.do(http.MethodPost, "/v2/p/mine/blobs/uploads/?mount="+d, nil, nil)
	require.Equal(t, http.StatusAccepted, r.Status, "body: %s", r.Body)
	assert.Len(t, filter.asked, maxMountCandidates)
}
