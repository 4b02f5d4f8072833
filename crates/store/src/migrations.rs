//! The schema, as one ordered list of migrations written in both dialects.
//!
//! Each step is applied once, in order, and recorded in `schema_migrations`
//! (version, name, applied_at). A step is never edited once released: change
//! the schema by appending a step, in both dialects, keeping the two
//! dialects' tables and columns the same. The SQL text of step N is in
//! `migrations/000N_<name>.<dialect>.sql`.

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

/// Every migration, oldest first. The SQL lives in `migrations/`, one file
/// per step and dialect, so tests can build an older schema by hand.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial schema",
        sqlite: include_str!("migrations/0001_initial.sqlite.sql"),
        postgres: include_str!("migrations/0001_initial.postgres.sql"),
    },
    Migration {
        version: 2,
        name: "jobs",
        sqlite: include_str!("migrations/0002_jobs.sqlite.sql"),
        postgres: include_str!("migrations/0002_jobs.postgres.sql"),
    },
];

/// The version a fully migrated database is at.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

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
