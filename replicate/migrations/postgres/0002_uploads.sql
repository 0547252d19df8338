-- PostgreSQL translation of migrations/sqlite/0002_uploads.sql: the hash
-- state is bytes (BLOB -> BYTEA); the key compares byte by byte.

-- Upload sessions a copy left unfinished at a destination, so a later
-- attempt (in this process or after a restart) resumes them: the session's
-- location, the offset the destination acknowledged and the hash state
-- there.
CREATE TABLE repl_uploads (
    key        TEXT COLLATE "C" PRIMARY KEY,
    location   TEXT NOT NULL,
    offset_    BIGINT NOT NULL,
    state      BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);
