-- Upload sessions a copy left unfinished at a destination, so a later
-- attempt (in this process or after a restart) resumes them: the session's
-- location, the offset the destination acknowledged and the hash state
-- there.
CREATE TABLE repl_uploads (
    key        TEXT PRIMARY KEY,
    location   TEXT NOT NULL,
    offset_    BIGINT NOT NULL,
    state      BLOB NOT NULL,
    updated_at BIGINT NOT NULL
);
