package api

import (
	"context"
	"net/http"

	"github.com/berthlabs/berth/rbac"
)

// Volumes tells the size and free space of the server's storage.
type Volumes interface {
	// Volumes reports each volume the server stores on; none when it
	// cannot know (an object store).
	Volumes(ctx context.Context) ([]Storage, error)
}

// Storage is one volume's size: Harbor's Storage.
type Storage struct {
	Total uint64 `json:"total" doc:"bytes"`
	Free  uint64 `json:"free" doc:"bytes available to the server"`
}

// SystemVolumes is what /systeminfo/volumes answers: Harbor's SystemInfo.
type SystemVolumes struct {
	Storage []Storage `json:"storage"`
}

// CACert is the root certificate clients trust the server's TLS
// certificate through.
type CACert interface {
	// CACert returns the PEM of the CA the server made for itself, or an
	// error wrapping core.ErrNotFound when it made none.
	CACert(ctx context.Context) ([]byte, error)
}

// WithVolumes serves /systeminfo/volumes from v (system admins).
func WithVolumes(v Volumes) Option { return func(c *config) { c.volumes = v } }

// WithCACert serves /systeminfo/getcert from ca.
func WithCACert(ca CACert) Option { return func(c *config) { c.caCert = ca } }

func (a *API) systemInfoRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/systeminfo/volumes", id: "getVolumes", tag: "systeminfo",
			summary: "Size and free space of the data directory's volume (system admins); empty on an object store",
			resp:    SystemVolumes{}, handle: a.getVolumes},
		{method: http.MethodGet, path: "/systeminfo/getcert", id: "getCert", tag: "systeminfo",
			summary: "The root certificate of the self-signed TLS setup (PEM); 404 when berth made none",
			handle:  a.getCert},
	}
}

func (a *API) getVolumes(c *call) error {
	if err := c.configAdmin(rbac.ActionRead); err != nil {
		return err
	}
	out := SystemVolumes{Storage: []Storage{}}
	if a.cfg.volumes != nil {
		vs, err := a.cfg.volumes.Volumes(c.ctx())
		if err != nil {
			return err
		}
		out.Storage = append(out.Storage, vs...)
	}
	return c.json(http.StatusOK, out)
}

func (a *API) getCert(c *call) error {
	if a.cfg.caCert == nil {
		return notFound("no default root certificate: this server did not make its own TLS certificate")
	}
	pem, err := a.cfg.caCert.CACert(c.ctx())
	if err != nil {
		return err
	}
	c.w.Header().Set("Content-Disposition", `attachment; filename="ca.crt"`)
	return c.raw("application/octet-stream", pem)
}
