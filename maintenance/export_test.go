package maintenance

import "time"

// Fire runs the schedule's tick as the cron does.
func (s *Service[P, R]) Fire(tick time.Time) { s.fire(tick) }
