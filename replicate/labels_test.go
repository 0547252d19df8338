package replicate_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/replicate"
)

func TestRegistryLabelFilters(t *testing.T) {
	annotations := map[string]string{"tier": "prod"}
	names := []string{"prod", "team=a"}
	for _, tc := range []struct {
		filter replicate.Filter
		labels map[string]string
		want   bool
	}{
		{replicate.Filter{Type: replicate.FilterLabel, Value: "prod"}, nil, true},
		{replicate.Filter{Type: replicate.FilterLabel, Value: "dev"}, nil, false},
		{replicate.Filter{Type: replicate.FilterLabel, Value: "prod", Decoration: replicate.Excludes}, nil, false},
		{replicate.Filter{Type: replicate.FilterLabel, Value: "dev", Decoration: replicate.Excludes}, nil, true},
		// key=value reads the config labels and annotations only.
		{replicate.Filter{Type: replicate.FilterLabel, Value: "team=a"}, nil, false},
		{replicate.Filter{Type: replicate.FilterLabel, Value: "tier=prod"}, annotations, true},
		{replicate.Filter{Type: replicate.FilterLabel, Value: "tier"}, annotations, true},
	} {
		got := replicate.MatchLabelledArtifact([]replicate.Filter{tc.filter}, tc.labels, names, "", true)
		assert.Equal(t, tc.want, got, "%+v", tc.filter)
	}
	assert.False(t, replicate.MatchArtifact([]replicate.Filter{{Type: replicate.FilterLabel, Value: "prod"}}, nil, "", true),
		"without registry labels")
}

// fakeLabels labels artifacts by repository and digest, and records what
// it is asked.
type fakeLabels struct {
	mu     sync.Mutex
	labels map[string][]string // repo@digest → names
	asked  []string
}

func (f *fakeLabels) LabelNames(_ context.Context, repo string, d digest.Digest) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, repo+"@"+d.String())
	return f.labels[repo+"@"+d.String()], nil
}

func (f *fakeLabels) set(repo, d string, names ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.labels[repo+"@"+d] = names
}

func (f *fakeLabels) questions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.asked)
}

func TestPushReplicatesByRegistryLabel(t *testing.T) {
	engines(t, func(t *testing.T, eng string) {
		ctx := context.Background()
		labels := &fakeLabels{labels: map[string][]string{}}
		l := newLocal(t, eng, replicate.WithLocalLabels(labels))
		remote := newBerth(t)
		epID, err := l.svc.CreateEndpoint(ctx, replicate.Endpoint{Name: "remote", URL: remote.url})
		require.NoError(t, err)

		prod := push(t, l.host, "team/app:v1", randomImage(t, 1000))
		labels.set("team/app", prod, "prod", "keep")
		other := push(t, l.host, "team/app:v2", randomImage(t, 1000))
		labels.set("team/app", other, "dev")
		push(t, l.host, "team/app:v3", randomImage(t, 1000)) // no labels

		run := func(name string, filters ...replicate.Filter) *replicate.Execution {
			t.Helper()
			pid, err := l.svc.CreatePolicy(ctx, replicate.Policy{Name: name, Mode: replicate.Push, RemoteID: epID, Enabled: true,
				Trigger: replicate.TriggerManual, DestNamespace: name, DestNamespaceReplace: 1,
				Filters: append([]replicate.Filter{{Type: replicate.FilterName, Value: "team/**"}}, filters...)})
			require.NoError(t, err)
			eid, err := l.svc.StartExecution(ctx, pid, replicate.TriggerManual)
			require.NoError(t, err)
			e := waitExec(t, l.svc, eid, 30*time.Second)
			require.Equal(t, replicate.StatusSucceed, e.Status, e.StatusText)
			return e
		}

		e := run("prod", replicate.Filter{Type: replicate.FilterLabel, Value: "prod"})
		assert.Equal(t, 1, e.Total, "only the labelled artifact")
		assert.Equal(t, prod, digestAt(t, remote.host, "prod/app:v1"))
		assert.Empty(t, digestAt(t, remote.host, "prod/app:v2"))
		assert.Empty(t, digestAt(t, remote.host, "prod/app:v3"))

		e = run("notdev", replicate.Filter{Type: replicate.FilterLabel, Value: "dev", Decoration: replicate.Excludes})
		assert.Equal(t, 2, e.Total)
		assert.Equal(t, []string{"v1", "v3"}, tagsAt(t, remote.host, "notdev/app"))

		// key=value filters never read the registry's labels.
		asked := labels.questions()
		e = run("kv", replicate.Filter{Type: replicate.FilterLabel, Value: "prod=yes"})
		assert.Equal(t, 0, e.Total)
		assert.Equal(t, asked, labels.questions())

		// A pull policy's source is the remote: the local labels are not its.
		pushed := push(t, remote.host, "up/app:v1", randomImage(t, 1000))
		labels.set("up/app", pushed, "prod")
		pid, err := l.svc.CreatePolicy(ctx, replicate.Policy{Name: "pull", Mode: replicate.Pull, RemoteID: epID, Enabled: true,
			Trigger: replicate.TriggerManual, Filters: []replicate.Filter{{Type: replicate.FilterName, Value: "up/**"},
				{Type: replicate.FilterLabel, Value: "prod"}}})
		require.NoError(t, err)
		eid, err := l.svc.StartExecution(ctx, pid, replicate.TriggerManual)
		require.NoError(t, err)
		e = waitExec(t, l.svc, eid, 30*time.Second)
		require.Equal(t, replicate.StatusSucceed, e.Status, e.StatusText)
		assert.Equal(t, 0, e.Total)
		assert.Empty(t, digestAt(t, l.host, "up/app:v1"))
		assert.Equal(t, asked, labels.questions(), "not asked about a remote artifact")
	})
}
