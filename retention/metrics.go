package retention

import (
	"context"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// stats are the totals of the executions finished in this process.
type stats struct {
	mu         sync.Mutex
	executions map[[2]string]float64 // by status and dry run
	tasks      map[string]float64    // by status
	deletedN   float64
	failedN    float64
}

func newStats() *stats {
	return &stats{executions: map[[2]string]float64{}, tasks: map[string]float64{}}
}

func (s *stats) execution(status string, dry bool) {
	s.mu.Lock()
	s.executions[[2]string{status, strconv.FormatBool(dry)}]++
	s.mu.Unlock()
}

func (s *stats) task(status string) {
	s.mu.Lock()
	s.tasks[status]++
	s.mu.Unlock()
}

func (s *stats) deleted() {
	s.mu.Lock()
	s.deletedN++
	s.mu.Unlock()
}

func (s *stats) failure() {
	s.mu.Lock()
	s.failedN++
	s.mu.Unlock()
}

var (
	descExecutions = prometheus.NewDesc("berth_retention_executions_total",
		"Tag retention executions finished, by status and whether they were dry runs.", []string{"status", "dry_run"}, nil)
	descTasks = prometheus.NewDesc("berth_retention_tasks_total",
		"Tag retention tasks (one a repository) finished, by status.", []string{"status"}, nil)
	descDeleted = prometheus.NewDesc("berth_retention_artifacts_deleted_total",
		"Artifacts tag retention deleted (their bytes go with garbage collection).", nil, nil)
	descFailed = prometheus.NewDesc("berth_retention_deletions_failed_total",
		"Deletions tag retention attempted that failed or were refused.", nil, nil)
	descInProgress = prometheus.NewDesc("berth_retention_executions_in_progress",
		"Tag retention executions pending or running.", nil, nil)
)

// Collector returns the service's Prometheus metrics: executions and
// tasks by status, artifacts deleted, deletions failed, and executions in
// progress.
func (s *Service) Collector() prometheus.Collector { return metricsCollector{s} }

type metricsCollector struct{ s *Service }

func (c metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descExecutions, descTasks, descDeleted, descFailed, descInProgress} {
		ch <- d
	}
}

func (c metricsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.stats
	st.mu.Lock()
	for _, status := range []string{StatusSuccess, StatusError, StatusStopped} {
		for _, dry := range []string{"false", "true"} {
			ch <- prometheus.MustNewConstMetric(descExecutions, prometheus.CounterValue, st.executions[[2]string{status, dry}], status, dry)
		}
		ch <- prometheus.MustNewConstMetric(descTasks, prometheus.CounterValue, st.tasks[status], status)
	}
	ch <- prometheus.MustNewConstMetric(descDeleted, prometheus.CounterValue, st.deletedN)
	ch <- prometheus.MustNewConstMetric(descFailed, prometheus.CounterValue, st.failedN)
	st.mu.Unlock()
	var n int
	if err := c.s.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM retention_executions WHERE status IN (?, ?)`,
		StatusPending, StatusRunning).Scan(&n); err == nil {
		ch <- prometheus.MustNewConstMetric(descInProgress, prometheus.GaugeValue, float64(n))
	}
}
