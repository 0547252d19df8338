package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

// A webhook's deliveries through every view Harbor's clients read: the
// executions, each execution's task and its log, the last trigger per
// event type, and the older jobs list; a member who is not a project
// admin reads them but cannot add a webhook.
func TestWebhookDeliveryViews(t *testing.T) {
	base := startWiringServer(t)
	received := make(chan string, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		received <- string(b)
	}))
	t.Cleanup(receiver.Close)

	st, _, body := wiringCall(t, base, http.MethodPost, "/projects", map[string]any{"project_name": "hooks"})
	require.Equal(t, http.StatusCreated, st, "%s", body)
	st, _, body = wiringCall(t, base, http.MethodPost, "/users", api.UserCreationReq{Username: "maint",
		Password: "maint-password-1", Email: "maint@berth.test", Realname: "maint"})
	require.Equal(t, http.StatusCreated, st, "%s", body)
	st, _, body = wiringCall(t, base, http.MethodPost, "/projects/hooks/members",
		api.ProjectMember{RoleID: 4, MemberUser: &api.UserEntity{Username: "maint"}}) // maintainer
	require.Equal(t, http.StatusCreated, st, "%s", body)
	policy := api.WebhookPolicy{Name: "ci", Enabled: true, EventTypes: []string{"PUSH_ARTIFACT"},
		Targets: []api.WebhookTarget{{Type: "http", Address: receiver.URL}}}
	st, loc, body := wiringCall(t, base, http.MethodPost, "/projects/hooks/webhook/policies", policy)
	require.Equal(t, http.StatusCreated, st, "%s", body)
	hook := strings.TrimPrefix(loc, api.BasePath)

	asMaint := func(method, path string, body any) int {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			require.NoError(t, err)
			rd = strings.NewReader(string(b))
		}
		req, err := http.NewRequestWithContext(t.Context(), method, base+api.BasePath+path, rd)
		require.NoError(t, err)
		req.SetBasicAuth("maint", "maint-password-1")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusForbidden, asMaint(http.MethodPost, "/projects/hooks/webhook/policies", policy))

	img, err := random.Image(256, 1)
	require.NoError(t, err)
	ref, err := name.NewTag(strings.TrimPrefix(base, "http://")+"/hooks/app:v1", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "admin", Password: wiringAdminPassword})))
	select {
	case ev := <-received:
		assert.Contains(t, ev, `"PUSH_ARTIFACT"`)
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery")
	}

	var execs []api.WebhookExecution
	require.Eventually(t, func() bool {
		st, _, body := wiringCall(t, base, http.MethodGet, hook+"/executions", nil)
		require.Equal(t, http.StatusOK, st)
		require.NoError(t, json.Unmarshal(body, &execs))
		return len(execs) == 1 && execs[0].Status == "Success"
	}, 30*time.Second, 20*time.Millisecond)
	exec := hook + "/executions/" + strconv.FormatInt(execs[0].ID, 10)

	st, _, body = wiringCall(t, base, http.MethodGet, exec+"/tasks", nil)
	require.Equal(t, http.StatusOK, st, "%s", body)
	var tasks []api.WebhookTask
	require.NoError(t, json.Unmarshal(body, &tasks))
	require.Len(t, tasks, 1)
	assert.Equal(t, execs[0].ID, tasks[0].ExecutionID)
	assert.Equal(t, "Success", tasks[0].Status)
	assert.Equal(t, 1, tasks[0].RunCount)

	st, _, body = wiringCall(t, base, http.MethodGet, exec+"/tasks/"+strconv.FormatInt(tasks[0].ID, 10)+"/log", nil)
	require.Equal(t, http.StatusOK, st)
	assert.Contains(t, string(body), "PUSH_ARTIFACT event for "+receiver.URL)
	assert.Contains(t, string(body), "last answer HTTP 200")
	assert.Contains(t, string(body), "delivered")
	st, _, _ = wiringCall(t, base, http.MethodGet, exec+"/tasks/999999/log", nil)
	assert.Equal(t, http.StatusNotFound, st)
	assert.Equal(t, http.StatusOK, asMaint(http.MethodGet, exec+"/tasks", nil), "maintainers read the log")

	st, _, body = wiringCall(t, base, http.MethodGet, "/projects/hooks/webhook/lasttrigger", nil)
	require.Equal(t, http.StatusOK, st, "%s", body)
	var lts []api.WebhookLastTrigger
	require.NoError(t, json.Unmarshal(body, &lts))
	require.Len(t, lts, 1)
	assert.Equal(t, "ci", lts[0].PolicyName)
	assert.Equal(t, "PUSH_ARTIFACT", lts[0].EventType)
	assert.WithinDuration(t, time.Now(), lts[0].LastTriggerTime, time.Minute)

	st, _, body = wiringCall(t, base, http.MethodGet, "/projects/hooks/webhook/jobs?policy_id="+wiringLastID(t, hook), nil)
	require.Equal(t, http.StatusOK, st, "%s", body)
	var jobs []api.WebhookJob
	require.NoError(t, json.Unmarshal(body, &jobs))
	require.Len(t, jobs, 1)
	assert.Equal(t, "Success", jobs[0].Status)
	assert.Equal(t, "http", jobs[0].NotifyType)
	st, _, _ = wiringCall(t, base, http.MethodGet, "/projects/hooks/webhook/jobs", nil)
	assert.Equal(t, http.StatusBadRequest, st, "policy_id is required")
}
