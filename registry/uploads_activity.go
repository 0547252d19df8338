package registry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/berthlabs/berth/storage"
)

// errSessionEnded marks a session purged while one of its chunks streamed.
var errSessionEnded = errors.New("upload session ended")

// reserve binds a new session to name and to its opener's quota, or
// answers 429 naming the full cap.
func (rg *Registry) reserve(r *http.Request, name, id string) error {
	now := rg.now()
	u := uploadRow{ID: id, Repo: name, Owner: uploadOwner(r), Project: projectOf(name),
		StartedAt: nowUnix(now), TouchedAt: nowUnix(now)}
	err := rg.meta.reserveUpload(r.Context(), u, nowUnix(now.Add(-rg.uploadIdle)), rg.uploadCaps)
	if c, ok := errors.AsType[*capReached](err); ok {
		return tooManyUploads(c, u.Owner, u.Project)
	}
	return err
}

// uploadEnded reports whether a session has been idle for the idle
// timeout or has passed its maximum age: it no longer counts against the
// caps, and resuming it answers 404 even before a purge removes it.
func (rg *Registry) uploadEnded(u uploadRow) bool {
	now := rg.now()
	return u.TouchedAt < nowUnix(now.Add(-rg.uploadIdle)) || u.StartedAt < nowUnix(now.Add(-rg.uploadMaxAge))
}

// touch records activity on a session: errSessionEnded when a purge has
// removed it meanwhile.
func (rg *Registry) touch(ctx context.Context, id string) error {
	err := rg.meta.touchUpload(ctx, id, rg.now())
	if errors.Is(err, errNotFound) {
		return errSessionEnded
	}
	return err
}

// endSession answers a chunk whose session was purged while it streamed:
// the session's bytes go too, and the client is told to start over.
func endSession(ctx context.Context, up storage.Upload) error {
	_ = up.Cancel(ctx)
	return uploadUnknown(up.ID())
}

// activity wraps a chunk's body so that its session's last activity is
// refreshed while bytes flow: a layer sent as one long PATCH (as docker
// sends it) is never taken for idle, while a client that stalls sends
// nothing and goes idle.
func (rg *Registry) activity(r *http.Request, u uploadRow) io.Reader {
	return &activityReader{r: r.Body, ctx: r.Context(), rg: rg, id: u.ID, last: time.Unix(0, u.TouchedAt)}
}

type activityReader struct {
	r    io.Reader
	ctx  context.Context
	rg   *Registry
	id   string
	last time.Time
}

func (a *activityReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		// A quarter of the idle timeout: few writes, and no live session
		// comes near the cutoff.
		if now := a.rg.now(); now.Sub(a.last) >= a.rg.uploadIdle/4 {
			if terr := a.rg.touch(a.ctx, a.id); terr != nil {
				return 0, terr
			}
			a.last = now
		}
	}
	return n, err
}
