package trivy

import (
	"log/slog"

	tlog "github.com/aquasecurity/trivy/pkg/log"
)

// installLogger points Trivy's logging — the process-wide slog default —
// somewhere sane. Importing Trivy's log package replaces the default with
// a handler that buffers every record in memory until a CLI would flush
// it; a library user never does, so records (Trivy's and the program's)
// pile up. With l, l becomes the default; without, a still-buffering
// default is replaced by a discarding one and a default the program set
// itself is kept.
func installLogger(l *slog.Logger) {
	if l != nil {
		slog.SetDefault(l)
		return
	}
	if _, buffering := slog.Default().Handler().(*tlog.DeferredHandler); buffering {
		slog.SetDefault(slog.New(slog.DiscardHandler))
	}
}
