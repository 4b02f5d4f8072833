//! The schema, as one ordered list of migrations written in both dialects.
//!
//! Each step is applied once, in order, and recorded in `schema_migrations`
//! (version, name, applied_at). A step is never edited once released: change
//! the schema by appending a step, in both dialects, keeping the two
//! dialects' tables and columns the same.

/// One schema step, in SQLite's and PostgreSQL's dialect.
pub(crate) struct Migration {
    /// Position in the list, from 1, never reused.
    pub(crate) version: i64,
    /// A short name, for logs and `schema_migrations`.
    pub(crate) name: &'static str,
    /// The step for SQLite.
    pub(crate) sqlite: &'static str,
    /// The step for PostgreSQL.
    pub(crate) postgres: &'static str,
}

/// Creates the bookkeeping table; the same text works in both dialects.
pub(crate) const CREATE_BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// Every migration, oldest first.
pub(crate) const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "initial schema",
    sqlite: INITIAL_SQLITE,
    postgres: INITIAL_POSTGRES,
}];

/// The version a fully migrated database is at.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

const INITIAL_SQLITE: &str = "
CREATE TABLE users (
    name TEXT PRIMARY KEY NOT NULL,
    role TEXT NOT NULL
);
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    user_name TEXT NOT NULL REFERENCES users (name),
    hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX api_tokens_user_name ON api_tokens (user_name);
CREATE TABLE logins (
    hash TEXT PRIMARY KEY NOT NULL,
    user_name TEXT NOT NULL REFERENCES users (name),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX logins_expires_at ON logins (expires_at);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_name TEXT NOT NULL REFERENCES users (name),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    node TEXT,
    cluster TEXT NOT NULL,
    python TEXT,
    r TEXT,
    profile TEXT,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    last_active_at INTEGER,
    ended_at INTEGER,
    error TEXT,
    exit_code INTEGER,
    secret TEXT NOT NULL,
    handle TEXT
);
CREATE INDEX sessions_user_name ON sessions (user_name);
CREATE INDEX sessions_state ON sessions (state);
CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    user_name TEXT,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT
);
CREATE INDEX audit_at ON audit (at);
";

const INITIAL_POSTGRES: &str = "
CREATE TABLE users (
    name TEXT PRIMARY KEY NOT NULL,
    role TEXT NOT NULL
);
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    user_name TEXT NOT NULL REFERENCES users (name),
    hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX api_tokens_user_name ON api_tokens (user_name);
CREATE TABLE logins (
    hash TEXT PRIMARY KEY NOT NULL,
    user_name TEXT NOT NULL REFERENCES users (name),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX logins_expires_at ON logins (expires_at);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_name TEXT NOT NULL REFERENCES users (name),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    node TEXT,
    cluster TEXT NOT NULL,
    python TEXT,
    r TEXT,
    profile TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    last_active_at BIGINT,
    ended_at BIGINT,
    error TEXT,
    exit_code INTEGER,
    secret TEXT NOT NULL,
    handle TEXT
);
CREATE INDEX sessions_user_name ON sessions (user_name);
CREATE INDEX sessions_state ON sessions (state);
CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
CREATE TABLE audit (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    user_name TEXT,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT
);
CREATE INDEX audit_at ON audit (at);
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_count_up_from_one() {
        for (i, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, i as i64 + 1, "{}", migration.name);
        }
    }

    /// The dialects differ only in types, never in tables or columns: with
    /// the type words removed, the two texts are the same.
    #[test]
    fn both_dialects_define_the_same_tables_and_columns() {
        let plain = |sql: &str| {
            sql.replace("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "KEY")
                .replace("INTEGER PRIMARY KEY AUTOINCREMENT", "KEY")
                .replace("BIGINT", "INT")
                .replace("INTEGER", "INT")
        };
        for migration in MIGRATIONS {
            assert_eq!(
                plain(migration.sqlite),
                plain(migration.postgres),
                "{}",
                migration.name
            );
        }
    }
}
