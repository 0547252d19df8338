-- Trust stores: public keys (cosign) and certificates (Notation), per
-- project; project '' is the system trust store, which every project
-- trusts too. created is Unix nanoseconds (UTC).
CREATE TABLE trust_entries (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    project  TEXT NOT NULL,
    name     TEXT NOT NULL,
    kind     TEXT NOT NULL,
    key_id   TEXT NOT NULL,
    subject  TEXT NOT NULL DEFAULT '',
    pem      TEXT NOT NULL,
    created  BIGINT NOT NULL,
    UNIQUE (project, name)
);

-- Content trust policies as JSON (trust.Policy); project '' is the
-- system default, which applies to projects without a row.
CREATE TABLE trust_policies (
    project  TEXT PRIMARY KEY,
    policy   TEXT NOT NULL,
    updated  BIGINT NOT NULL
);
