-- The token service's signing keys, sealed with the server's secret key,
-- so that every node sharing the database signs and verifies alike. One
-- key signs (active = 1); retired ones still verify tokens issued before
-- a rotation.
CREATE TABLE auth_token_keys (
    id         INTEGER PRIMARY KEY,
    sealed     TEXT NOT NULL,
    active     INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX auth_token_keys_one_active ON auth_token_keys (active) WHERE active = 1;
