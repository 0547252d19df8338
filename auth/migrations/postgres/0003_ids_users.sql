-- PostgreSQL translation of migrations/sqlite/0003_ids_users.sql (the same
-- statements; name compares with COLLATE "C" there, as SQLite's does, so
-- the backfill numbers rows in the same order on both engines).

-- Users get a numeric id, as Harbor's API addresses them (/users/{user_id}),
-- drawn from auth_user_seq so that it is never reused after a delete, and
-- the free-text comment of Harbor's user profile. Users stored before are
-- numbered 1, 2, ... in the order they were created (ties by name), and
-- the sequence continues after them.
ALTER TABLE auth_users ADD COLUMN id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE auth_users ADD COLUMN comment TEXT NOT NULL DEFAULT '';
UPDATE auth_users SET id = (SELECT COUNT(*) FROM auth_users AS o
    WHERE o.created_at < auth_users.created_at
       OR (o.created_at = auth_users.created_at AND o.name <= auth_users.name));
CREATE UNIQUE INDEX auth_users_id ON auth_users (id);

CREATE TABLE auth_user_seq (
    last_id BIGINT NOT NULL
);
INSERT INTO auth_user_seq (last_id) SELECT COUNT(*) FROM auth_users;
