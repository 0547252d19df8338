package replicate

import "time"

// WithScheduleResync sets how often a service on a shared database reads
// the scheduled policies again (default a minute).
func WithScheduleResync(d time.Duration) ServiceOption {
	return func(s *Service) error { s.resyncEvery = d; return nil }
}
