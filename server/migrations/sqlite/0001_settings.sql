-- Settings changed at run time through the API (PUT /configurations):
-- one row per key, read on each use, so every node sharing the database
-- applies a change at once and it survives restarts.
CREATE TABLE server_settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
) WITHOUT ROWID;
