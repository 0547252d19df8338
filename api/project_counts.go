package api

import (
	"context"
	"fmt"
)

// ChartCounter tells how many Helm charts (chart names, not versions) the
// classic chart repository holds in the named project.
type ChartCounter func(ctx context.Context, project string) (int, error)

// WithChartCounter fills chart_count in projects and their summaries from
// the classic chart repository. Without it chart_count is 0.
func WithChartCounter(f ChartCounter) Option { return func(c *config) { c.chartCount = f } }

// chartCount is the chart_count of the named project.
func (a *API) chartCount(ctx context.Context, project string) (int, error) {
	if a.cfg.chartCount == nil {
		return 0, nil
	}
	n, err := a.cfg.chartCount(ctx, project)
	if err != nil {
		return 0, fmt.Errorf("counting the charts of project %q: %w", project, err)
	}
	return n, nil
}
