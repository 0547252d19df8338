package registry

import (
	"context"
	"errors"
	"time"

	"github.com/berthlabs/berth/sqldb"
)

// PurgeUploads removes upload sessions started before the cutoff, both
// their bytes and their repository binding. It returns how many sessions
// the storage driver removed.
func (rg *Registry) PurgeUploads(ctx context.Context, before time.Time) (int, error) {
	n, err := rg.blobs.PurgeUploads(ctx, before)
	werr := rg.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM registry_uploads WHERE started_at < ?`, nowUnix(before))
		return err
	})
	return n, errors.Join(err, werr)
}
