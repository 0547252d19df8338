package webhook

import (
	"context"
	"fmt"
	"time"
)

// LastTrigger is when a policy last queued a delivery of an event type.
type LastTrigger struct {
	PolicyID  int64
	EventType EventType
	At        time.Time
}

// LastTriggers reports, for each policy of the project and each event
// type it delivered, when it last did (test events included), from the
// deliveries the log still holds (Purge forgets older ones).
func (s *Service) LastTriggers(ctx context.Context, projectID int64) ([]LastTrigger, error) {
	rows, err := s.db.Query(ctx, `SELECT policy_id, event_type, MAX(created_at) FROM webhook_deliveries
		WHERE project_id = ? GROUP BY policy_id, event_type ORDER BY policy_id, event_type`, projectID)
	if err != nil {
		return nil, fmt.Errorf("webhook: last triggers: %w", err)
	}
	defer rows.Close()
	var out []LastTrigger
	for rows.Next() {
		var lt LastTrigger
		var at int64
		if err := rows.Scan(&lt.PolicyID, &lt.EventType, &at); err != nil {
			return nil, fmt.Errorf("webhook: last triggers: %w", err)
		}
		lt.At = fromMS(at)
		out = append(out, lt)
	}
	return out, rows.Err()
}
