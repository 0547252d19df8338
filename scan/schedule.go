package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/berthlabs/berth/core"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/berthlabs/berth/jobs"
)

// Schedule types (Harbor's ScheduleObj types).
const (
	ScheduleNone   = "None"
	ScheduleHourly = "Hourly"
	ScheduleDaily  = "Daily"
	ScheduleWeekly = "Weekly"
	ScheduleCustom = "Custom"
)

// Schedule is when scan-all runs: a type and, for Custom (and as
// information for the others), a cron expression with an optional seconds
// field first, as Harbor writes them ("0 0 2 * * *").
type Schedule struct {
	Type string `json:"type"`
	Cron string `json:"cron,omitempty"`
}

var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// normalized fills Cron for the fixed types and checks it.
func (sc Schedule) normalized() (Schedule, error) {
	switch sc.Type {
	case "", ScheduleNone:
		return Schedule{Type: ScheduleNone}, nil
	case ScheduleHourly:
		sc.Cron = "0 0 * * * *"
	case ScheduleDaily:
		sc.Cron = "0 0 0 * * *"
	case ScheduleWeekly:
		sc.Cron = "0 0 0 * * 0"
	case ScheduleCustom:
	default:
		return sc, fmt.Errorf("%w: schedule type %q: want None, Hourly, Daily, Weekly or Custom", ErrInvalid, sc.Type)
	}
	sc.Cron = strings.TrimSpace(sc.Cron)
	if len(sc.Cron) > 128 {
		return sc, fmt.Errorf("%w: cron expression too long", ErrInvalid)
	}
	if _, err := cronParser.Parse(sc.Cron); err != nil {
		return sc, fmt.Errorf("%w: cron %q: %v", ErrInvalid, sc.Cron, err)
	}
	return sc, nil
}

const (
	settingSchedule  = "scan_all_schedule"
	settingLastFired = "scan_all_fired"
)

// ScanAllSchedule returns the scan-all schedule.
func (s *Service) ScanAllSchedule(ctx context.Context) (Schedule, error) {
	v, err := s.st.setting(ctx, settingSchedule)
	if err != nil || v == "" {
		return Schedule{Type: ScheduleNone}, err
	}
	var sc Schedule
	if err := json.Unmarshal([]byte(v), &sc); err != nil {
		return sc, fmt.Errorf("scan: stored schedule: %w", err)
	}
	return sc, nil
}

// SetScanAllSchedule stores the scan-all schedule and, when the schedule
// runs in this process (StartSchedule), applies it at once.
func (s *Service) SetScanAllSchedule(ctx context.Context, sc Schedule) (Schedule, error) {
	sc, err := sc.normalized()
	if err != nil {
		return sc, err
	}
	if err := s.st.setSetting(ctx, settingSchedule, mustJSON(sc)); err != nil {
		return sc, err
	}
	s.schedMu.Lock()
	defer s.schedMu.Unlock()
	if s.sched.running {
		s.sched.apply(s, sc)
	}
	return sc, nil
}

// StartSchedule runs scan-all on the stored schedule until Close. With
// several processes on one database, each fire runs once: the first
// process to claim it wins.
func (s *Service) StartSchedule(ctx context.Context) error {
	sc, err := s.ScanAllSchedule(ctx)
	if err != nil {
		return err
	}
	s.schedMu.Lock()
	defer s.schedMu.Unlock()
	select {
	case <-s.closed:
		return errors.New("scan: service closed")
	default:
	}
	s.sched.running = true
	s.sched.apply(s, sc)
	return nil
}

// scheduler runs one cron entry at a time.
type scheduler struct {
	running bool
	c       *cron.Cron
}

func (sd *scheduler) stop() {
	if sd.c != nil {
		<-sd.c.Stop().Done()
		sd.c = nil
	}
	sd.running = false
}

func (sd *scheduler) apply(s *Service, sc Schedule) {
	if sd.c != nil {
		sd.c.Stop()
		sd.c = nil
	}
	if sc.Type == ScheduleNone || sc.Cron == "" {
		return
	}
	spec, err := cronParser.Parse(sc.Cron)
	if err != nil {
		s.log.Error("scan: bad stored schedule", "cron", sc.Cron, "err", err)
		return
	}
	sd.c = cron.New(cron.WithParser(cronParser), cron.WithLocation(time.UTC))
	sd.c.Schedule(spec, cron.FuncJob(s.fire))
	sd.c.Start()
}

// fire starts a scheduled scan-all unless another process claimed this
// tick already.
func (s *Service) fire() {
	ctx := context.Background()
	tick := s.now().UTC().Truncate(time.Second)
	won, err := s.st.claimSetting(ctx, settingLastFired, fmt.Sprintf("%020d", tick.UnixNano()))
	if err != nil {
		s.log.Error("scan: scheduled scan-all", "err", err)
		return
	}
	if !won {
		return
	}
	if _, err := s.ScanAll(ctx, TriggerSchedule); err != nil {
		s.log.Error("scan: scheduled scan-all", "err", err)
	}
}

type scanAllArgs struct {
	Task int64 `json:"task"`
}

func (scanAllArgs) Kind() string { return jobScanAll }

type scanAllWorker struct {
	s *Service
}

func (w *scanAllWorker) Timeout(*jobs.Job[scanAllArgs]) time.Duration { return time.Hour }

func (w *scanAllWorker) Work(ctx context.Context, job *jobs.Job[scanAllArgs]) error {
	return w.s.runScanAll(ctx, job.Args.Task)
}

// ScanAll queues a task that queues a scan of every image in the
// registry. While one is pending or running, that one is returned.
func (s *Service) ScanAll(ctx context.Context, trigger Trigger) (Task, error) {
	if err := s.requireQueue(); err != nil {
		return Task{}, err
	}
	if s.catalog == nil {
		return Task{}, fmt.Errorf("scan: no catalog to walk (WithRegistry or WithCatalog): %w", ErrUnsupported)
	}
	if t, ok, err := s.st.latestTask(ctx, "", KindScanAll); err != nil {
		return t, err
	} else if ok && !t.Status.Finished() {
		return t, nil
	}
	t, created, err := s.st.startTask(ctx, Task{Kind: KindScanAll, Trigger: trigger})
	if err != nil || !created {
		return t, err // !created: another caller (or node) started one meanwhile
	}
	return s.enqueue(ctx, t, scanAllArgs{Task: t.ID}, jobs.EnqueueMaxAttempts(3))
}

// StopScanAll stops a pending or running scan-all (scans it queued
// already keep running).
func (s *Service) StopScanAll(ctx context.Context) (Task, error) { return s.stop(ctx, "", KindScanAll) }

const catalogPage = 100

func (s *Service) runScanAll(ctx context.Context, id int64) error {
	t, err := s.st.task(ctx, id)
	if err != nil || t.Status.Finished() {
		return err
	}
	if running, err := s.st.transition(ctx, id, StatusRunning, ""); err != nil || !running {
		return err // !running: stopped since it was read
	}
	logf := func(format string, args ...any) { _ = s.st.appendLog(context.WithoutCancel(ctx), id, format, args...) }
	queued, skipped, failed := 0, 0, 0
	for off := 0; ; off += catalogPage {
		repos, _, err := s.catalog.ListRepositories(ctx, "", core.Page{Offset: off, Limit: catalogPage})
		if err != nil {
			logf("error listing repositories: %v", err)
			return err
		}
		for _, r := range repos {
			for aoff := 0; ; aoff += catalogPage {
				arts, _, err := s.catalog.ListArtifacts(ctx, r.Name, core.Page{Offset: aoff, Limit: catalogPage})
				if err != nil {
					logf("error listing %s: %v", r.Name, err)
					failed++
					break
				}
				for _, a := range arts {
					if a.Subject != "" || !Scannable(a.MediaType, a.ArtifactType) {
						skipped++
						continue
					}
					if cur, _ := s.st.task(ctx, id); cur.Status == StatusStopped {
						logf("stopped after queueing %d scans", queued)
						return nil
					}
					_, err := s.ScanArtifact(ctx, Artifact{Repository: r.Name, Digest: a.Digest, MediaType: a.MediaType}, t.Trigger)
					if err != nil {
						logf("%s@%s: %v", r.Name, a.Digest, err)
						failed++
						continue
					}
					queued++
				}
				if len(arts) < catalogPage {
					break
				}
			}
		}
		if len(repos) < catalogPage {
			break
		}
	}
	logf("queued %d scans; %d artifacts not scannable; %d failed to queue", queued, skipped, failed)
	if nt, nr, err := s.Prune(ctx); err != nil {
		logf("pruning history: %v", err)
	} else if nt+nr > 0 {
		logf("pruned %d old tasks and %d superseded reports", nt, nr)
	}
	_, err = s.st.transition(ctx, id, StatusSuccess, fmt.Sprintf("queued %d scans", queued))
	return err
}
