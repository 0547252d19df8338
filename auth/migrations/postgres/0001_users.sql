-- PostgreSQL translation of migrations/sqlite/0001_users.sql. The name
-- compares byte by byte (COLLATE "C"), as SQLite's does, so List sorts
-- and pages the same on both engines whatever the database's locale, and
-- its LIKE prefix can use the primary key. WITHOUT ROWID has no
-- counterpart (every PostgreSQL table is a heap); BOOLEAN is kept, as the
-- Go code binds and scans booleans.

-- User accounts, local and external (LDAP). Names are stored in their
-- canonical lower-case form. password_hash is an argon2id PHC string or an
-- imported bcrypt hash, and '' for external users, who never log in
-- locally. Times are Unix nanoseconds; 0 means never.
CREATE TABLE auth_users (
    name                TEXT COLLATE "C" PRIMARY KEY,
    email               TEXT NOT NULL DEFAULT '',
    display_name        TEXT NOT NULL DEFAULT '',
    system_admin        BOOLEAN NOT NULL DEFAULT FALSE,
    source              TEXT NOT NULL,
    password_hash       TEXT NOT NULL DEFAULT '',
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL DEFAULT 0
);

-- Bootstrap and the last-admin guard count admins.
CREATE INDEX auth_users_admins ON auth_users (system_admin, name);
