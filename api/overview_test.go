package api

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// An index's overview is done only when every image's scan is.
func TestMergeOverviews(t *testing.T) {
	ok := &NativeReportSummary{ScanStatus: "Success", CompletePercent: 100, Severity: "High",
		Summary: &VulnerabilitySummary{Total: 2, Fixable: 1, Summary: map[string]int{"High": 1, "Low": 1}}}
	failed := &NativeReportSummary{ScanStatus: "Error", CompletePercent: 100}
	running := &NativeReportSummary{ScanStatus: "Running"}

	o := mergeOverviews([]*NativeReportSummary{ok}, 2) // one image not scanned yet
	assert.Equal(t, "Running", o.ScanStatus)
	assert.Equal(t, 50, o.CompletePercent)
	assert.Equal(t, "High", o.Severity)

	o = mergeOverviews([]*NativeReportSummary{ok, failed}, 2)
	assert.Equal(t, "Error", o.ScanStatus)
	assert.Equal(t, 100, o.CompletePercent)

	o = mergeOverviews([]*NativeReportSummary{failed, running, ok}, 3)
	assert.Equal(t, "Running", o.ScanStatus)
	assert.Equal(t, 66, o.CompletePercent)
	assert.Equal(t, 2, o.Summary.Total)
	assert.Equal(t, 1, o.Summary.Fixable)
}
