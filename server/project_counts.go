package server

import (
	"context"
	"errors"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/chart"
)

// chartCounter counts the charts (names, not versions) the classic chart
// repository holds in a project, for the API's chart_count. A project the
// repository does not know holds none.
func chartCounter(repo *chart.Repo) api.ChartCounter {
	return func(ctx context.Context, project string) (int, error) {
		charts, err := repo.List(ctx, project)
		if errors.Is(err, chart.ErrNoProject) {
			return 0, nil
		}
		return len(charts), err
	}
}
