package schedule_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/schedule"
)

func TestNormalized(t *testing.T) {
	for _, tt := range []struct {
		in   schedule.Schedule
		want schedule.Schedule
		err  bool
	}{
		{schedule.Schedule{}, schedule.Schedule{Type: schedule.None}, false},
		{schedule.Schedule{Type: schedule.None, Cron: "junk"}, schedule.Schedule{Type: schedule.None}, false},
		{schedule.Schedule{Type: schedule.Daily, Cron: "ignored"}, schedule.Schedule{Type: schedule.Daily, Cron: "0 0 0 * * *"}, false},
		{schedule.Schedule{Type: schedule.Custom, Cron: " 0 30 2 * * 1 "}, schedule.Schedule{Type: schedule.Custom, Cron: "0 30 2 * * 1"}, false},
		{schedule.Schedule{Type: schedule.Custom, Cron: "*/5 * * * *"}, schedule.Schedule{Type: schedule.Custom, Cron: "*/5 * * * *"}, false},
		{schedule.Schedule{Type: schedule.Custom, Cron: "every day"}, schedule.Schedule{}, true},
		{schedule.Schedule{Type: "Sometimes"}, schedule.Schedule{}, true},
	} {
		got, err := tt.in.Normalized()
		if tt.err {
			assert.ErrorIs(t, err, core.ErrInvalid, "%+v", tt.in)
			continue
		}
		require.NoError(t, err, "%+v", tt.in)
		assert.Equal(t, tt.want, got)
	}
}

func TestCronFires(t *testing.T) {
	fired := make(chan time.Time, 10)
	c := schedule.NewCron(func(tick time.Time) { fired <- tick })
	defer c.Stop()
	require.NoError(t, c.Set(schedule.Schedule{Type: schedule.Custom, Cron: "* * * * * *"}))
	select {
	case tick := <-fired:
		assert.Equal(t, time.UTC, tick.Location())
	case <-time.After(5 * time.Second):
		t.Fatal("a schedule firing every second did not fire")
	}
	require.NoError(t, c.Set(schedule.Schedule{Type: schedule.None}))
	for len(fired) > 0 {
		<-fired
	}
	time.Sleep(1500 * time.Millisecond)
	assert.Empty(t, fired, "None stops it")
	assert.Error(t, c.Set(schedule.Schedule{Type: schedule.Custom, Cron: "bad"}))
}

func ExampleSchedule_Next() {
	s := schedule.Schedule{Type: schedule.Daily}
	fmt.Println(s.Next(time.Date(2026, 12, 7, 15, 4, 5, 0, time.UTC)))
	// Output: 2026-12-08 00:00:00 +0000 UTC
}
