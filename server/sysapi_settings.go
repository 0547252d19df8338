package server

import (
	"context"
	"embed"
	"time"

	"github.com/berthlabs/berth/sqldb"
)

//go:embed migrations
var settingsMigrations embed.FS

// settingsStore keeps the settings changed through PUT /configurations
// (api.Settings) in the server's database.
type settingsStore struct{ db *sqldb.DB }

func openSettings(ctx context.Context, db *sqldb.DB) (*settingsStore, error) {
	if err := db.MigrateDialect(ctx, "settings", settingsMigrations); err != nil {
		return nil, err
	}
	return &settingsStore{db: db}, nil
}

// Settings returns every stored setting.
func (s *settingsStore) Settings(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.Query(ctx, `SELECT name, value FROM server_settings`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// SetSettings stores changes in one transaction.
func (s *settingsStore) SetSettings(ctx context.Context, changes map[string]string) error {
	now := time.Now().UnixNano()
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		for k, v := range changes {
			if _, err := tx.Exec(ctx, `INSERT INTO server_settings (name, value, updated_at) VALUES (?, ?, ?)
				ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, k, v, now); err != nil {
				return err
			}
		}
		return nil
	})
}
