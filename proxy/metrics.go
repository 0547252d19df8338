package proxy

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// stats counts the cache's work since New.
type stats struct {
	manifestFills  atomic.Int64
	blobFills      atomic.Int64
	blobBytes      atomic.Int64
	stale          atomic.Int64
	upstreamErrors atomic.Int64
}

// Stats is a snapshot of the cache's counters.
type Stats struct {
	ManifestFills  int64 // manifests stored from an upstream
	BlobFills      int64 // blobs stored from an upstream
	BlobBytes      int64 // their bytes
	StaleServes    int64 // pulls answered with a cached copy the upstream could not confirm
	UpstreamErrors int64 // upstream calls that failed (outages, absences, bad content)
}

// Stats returns the cache's counters.
func (c *Cache) Stats() Stats {
	return Stats{
		ManifestFills: c.stats.manifestFills.Load(), BlobFills: c.stats.blobFills.Load(),
		BlobBytes: c.stats.blobBytes.Load(), StaleServes: c.stats.stale.Load(),
		UpstreamErrors: c.stats.upstreamErrors.Load(),
	}
}

var (
	descManifestFills = prometheus.NewDesc("berth_proxy_manifest_fills_total", "Manifests a proxy cache stored from its upstream.", nil, nil)
	descBlobFills     = prometheus.NewDesc("berth_proxy_blob_fills_total", "Blobs a proxy cache stored from its upstream.", nil, nil)
	descBlobBytes     = prometheus.NewDesc("berth_proxy_blob_fill_bytes_total", "Bytes of the blobs a proxy cache stored.", nil, nil)
	descStale         = prometheus.NewDesc("berth_proxy_stale_serves_total", "Pulls served from the cache while the upstream could not confirm them.", nil, nil)
	descErrors        = prometheus.NewDesc("berth_proxy_upstream_errors_total", "Calls to upstream registries that failed.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *Cache) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descManifestFills, descBlobFills, descBlobBytes, descStale, descErrors} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Cache) Collect(ch chan<- prometheus.Metric) {
	s := c.Stats()
	for _, m := range []struct {
		d *prometheus.Desc
		v int64
	}{
		{descManifestFills, s.ManifestFills}, {descBlobFills, s.BlobFills}, {descBlobBytes, s.BlobBytes},
		{descStale, s.StaleServes}, {descErrors, s.UpstreamErrors},
	} {
		ch <- prometheus.MustNewConstMetric(m.d, prometheus.CounterValue, float64(m.v))
	}
}
