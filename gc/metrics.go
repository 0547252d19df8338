package gc

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthlabs/berth/maintenance"
)

// stats are the totals of the runs finished in this process.
type stats struct {
	mu        sync.Mutex
	runs      map[string]float64 // by status
	blobs     float64
	bytes     float64
	manifests float64
}

func newStats() *stats { return &stats{runs: map[string]float64{}} }

func (s *stats) record(status string, dry bool, res Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs[status]++
	if dry {
		return
	}
	s.blobs += float64(res.BlobsDeleted)
	s.bytes += float64(res.BytesFreed)
	s.manifests += float64(res.ManifestsDeleted)
}

var (
	descRuns      = prometheus.NewDesc("berth_gc_runs_total", "Garbage collection runs finished, by status.", []string{"status"}, nil)
	descBlobs     = prometheus.NewDesc("berth_gc_blobs_deleted_total", "Blobs garbage collection removed.", nil, nil)
	descBytes     = prometheus.NewDesc("berth_gc_bytes_freed_total", "Bytes garbage collection freed.", nil, nil)
	descManifests = prometheus.NewDesc("berth_gc_manifests_deleted_total", "Untagged manifests garbage collection removed.", nil, nil)
	descQueue     = prometheus.NewDesc("berth_gc_queue", "Candidates waiting for garbage collection, by kind.", []string{"kind"}, nil)
)

// Collector returns the service's Prometheus metrics: runs, what they
// freed, and the candidates waiting.
func (s *Service) Collector() prometheus.Collector { return metricsCollector{s} }

type metricsCollector struct{ s *Service }

func (c metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRuns, descBlobs, descBytes, descManifests, descQueue} {
		ch <- d
	}
}

func (c metricsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.stats
	st.mu.Lock()
	for _, status := range []string{maintenance.StatusSuccess, maintenance.StatusError, maintenance.StatusStopped} {
		ch <- prometheus.MustNewConstMetric(descRuns, prometheus.CounterValue, st.runs[status], status)
	}
	ch <- prometheus.MustNewConstMetric(descBlobs, prometheus.CounterValue, st.blobs)
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, st.bytes)
	ch <- prometheus.MustNewConstMetric(descManifests, prometheus.CounterValue, st.manifests)
	st.mu.Unlock()
	if blobs, untagged, err := c.s.coll.GarbageQueue(context.Background()); err == nil {
		ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(blobs), "blob")
		ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(untagged), "untagged_manifest")
	}
}
