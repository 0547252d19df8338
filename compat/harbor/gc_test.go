package harbor_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/gc"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGC sets the garbage collection schedule, runs GC now (Harbor's
// schedule type "Manual"), and reads the run, the history and the log.
// The run is a dry run: other tests' images stay.
func TestGC(t *testing.T) {
	ctx := t.Context()

	created, err := apiClient.GC.CreateGCSchedule(ctx, gc.NewCreateGCScheduleParams().WithSchedule(&models.Schedule{
		Schedule:   &models.ScheduleObj{Type: "Daily"},
		Parameters: map[string]any{"delete_untagged": true, "workers": 1},
	}))
	require.NoError(t, err)
	assert.NotEmpty(t, created.Location)

	sc, err := apiClient.GC.GetGCSchedule(ctx, gc.NewGetGCScheduleParams())
	require.NoError(t, err)
	require.NotNil(t, sc.Payload.Schedule)
	assert.Equal(t, "Daily", sc.Payload.Schedule.Type)
	next := time.Time(sc.Payload.Schedule.NextScheduledTime)
	assert.True(t, next.After(time.Now()) && next.Before(time.Now().Add(25*time.Hour)), "next run %s", next)
	assert.JSONEq(t, `{"delete_untagged":true,"dry_run":false}`, sc.Payload.JobParameters)

	_, err = apiClient.GC.UpdateGCSchedule(ctx, gc.NewUpdateGCScheduleParams().WithSchedule(&models.Schedule{
		Schedule:   &models.ScheduleObj{Type: "Custom", Cron: "0 0 3 * * *"},
		Parameters: map[string]any{"delete_untagged": false},
	}))
	require.NoError(t, err)
	sc, err = apiClient.GC.GetGCSchedule(ctx, gc.NewGetGCScheduleParams())
	require.NoError(t, err)
	require.NotNil(t, sc.Payload.Schedule)
	assert.Equal(t, "Custom", sc.Payload.Schedule.Type)
	assert.Equal(t, "0 0 3 * * *", sc.Payload.Schedule.Cron)
	assert.Equal(t, 3, time.Time(sc.Payload.Schedule.NextScheduledTime).UTC().Hour())

	// Run now.
	run, err := apiClient.GC.CreateGCSchedule(ctx, gc.NewCreateGCScheduleParams().WithSchedule(&models.Schedule{
		Schedule:   &models.ScheduleObj{Type: "Manual"},
		Parameters: map[string]any{"delete_untagged": true, "dry_run": true},
	}))
	require.NoError(t, err)
	id := idFromLocation(t, run.Location)

	var h *models.GCHistory
	eventually(t, 20*time.Second, "the GC run to finish", func() bool {
		got, err := apiClient.GC.GetGC(ctx, gc.NewGetGCParams().WithGCID(id))
		require.NoError(t, err)
		h = got.Payload
		return h.JobStatus != "Pending" && h.JobStatus != "Running"
	})
	assert.Equal(t, id, h.ID)
	assert.Equal(t, "Success", h.JobStatus)
	assert.Equal(t, "GARBAGE_COLLECTION", h.JobName)
	assert.Equal(t, "MANUAL", h.JobKind)
	require.NotNil(t, h.Schedule)
	assert.Equal(t, "Manual", h.Schedule.Type)
	assert.WithinDuration(t, time.Now(), time.Time(h.CreationTime), time.Minute)
	assert.False(t, time.Time(h.UpdateTime).Before(time.Time(h.CreationTime)))
	var params map[string]any
	require.NoError(t, json.Unmarshal([]byte(h.JobParameters), &params))
	assert.Equal(t, true, params["dry_run"])
	assert.Equal(t, true, params["delete_untagged"])

	hist, err := apiClient.GC.GetGCHistory(ctx, gc.NewGetGCHistoryParams().WithPage(ptr(int64(1))).WithPageSize(ptr(int64(10))))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, hist.XTotalCount, int64(1))
	require.NotEmpty(t, hist.Payload)
	assert.Equal(t, id, hist.Payload[0].ID, "newest first")
	assert.Equal(t, "Success", hist.Payload[0].JobStatus)

	log, err := apiClient.GC.GetGCLog(ctx, gc.NewGetGCLogParams().WithGCID(id))
	require.NoError(t, err)
	assert.NotEmpty(t, log.Payload)

	_, err = apiClient.GC.GetGC(ctx, gc.NewGetGCParams().WithGCID(id+1000))
	var nf *gc.GetGCNotFound
	require.ErrorAs(t, err, &nf, "an unknown run is Harbor's 404")
	require.NotNil(t, nf.Payload, "the error body decodes as Harbor's Errors")
	require.NotEmpty(t, nf.Payload.Errors)
	assert.Equal(t, "NOT_FOUND", nf.Payload.Errors[0].Code)
	assert.NotEmpty(t, nf.Payload.Errors[0].Message)

	_, err = apiClient.GC.UpdateGCSchedule(ctx, gc.NewUpdateGCScheduleParams().WithSchedule(&models.Schedule{
		Schedule: &models.ScheduleObj{Type: "None"},
	}))
	require.NoError(t, err)
	sc, err = apiClient.GC.GetGCSchedule(ctx, gc.NewGetGCScheduleParams())
	require.NoError(t, err)
	require.NotNil(t, sc.Payload.Schedule)
	assert.Equal(t, "None", sc.Payload.Schedule.Type)
	assert.True(t, time.Time(sc.Payload.Schedule.NextScheduledTime).IsZero())
}
