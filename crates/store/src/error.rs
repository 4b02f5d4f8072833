//! The one error type of the store. Variants name the operation (the trait
//! method) and the ids involved; none carries a password, hash or secret.

use std::path::PathBuf;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The SQLite database file could not be created or prepared.
    #[error("cannot prepare the SQLite database file {path}")]
    File {
        /// The database file (or its `-wal`/`-shm` companion).
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The folder meant to hold the SQLite database does not exist.
    #[error("the folder {dir} for the SQLite database does not exist")]
    MissingDir {
        /// The missing folder.
        dir: PathBuf,
    },
    /// SQLite reported an error.
    #[error("SQLite failed in {op}")]
    Sqlite {
        /// The store operation, e.g. `insert_session`.
        op: &'static str,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The PostgreSQL URL could not be parsed.
    #[error("invalid PostgreSQL connection string")]
    PostgresUrl {
        /// The parser's error (it does not repeat the URL).
        #[source]
        source: tokio_postgres::Error,
    },
    /// PostgreSQL reported an error.
    #[error("PostgreSQL failed in {op}")]
    Postgres {
        /// The store operation, e.g. `insert_session`.
        op: &'static str,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// No PostgreSQL connection could be had from the pool.
    #[error("no PostgreSQL connection for {op}")]
    Pool {
        /// The store operation, e.g. `insert_session`.
        op: &'static str,
        /// The pool's error (connect failure, timeout, closed pool).
        #[source]
        source: deadpool_postgres::PoolError,
    },
    /// A schema migration failed; the database is left at the version before it.
    #[error("migration {version} ({name}) failed")]
    Migration {
        /// The migration's version number.
        version: i64,
        /// The migration's name.
        name: &'static str,
        /// The database's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The database was migrated by a newer Atelier than this one.
    #[error("the database schema is at version {found}, newer than this build knows ({known})")]
    SchemaTooNew {
        /// The highest version recorded in the database.
        found: i64,
        /// The highest version this build knows.
        known: i64,
    },
    /// A stored row could not be read back into a domain value.
    #[error("corrupt row in {table} ({id}): column {column}: {message}")]
    CorruptRow {
        /// The table, e.g. `sessions`.
        table: &'static str,
        /// The row's id (a session id, user name, token id; a login's hash is
        /// shortened).
        id: String,
        /// The column that failed.
        column: &'static str,
        /// Why it failed.
        message: String,
    },
    /// A row with this key already exists.
    #[error("{table} already holds {key}")]
    Conflict {
        /// The table, e.g. `sessions`.
        table: &'static str,
        /// The clashing key (a login's hash is shortened).
        key: String,
    },
    /// The row refers to a user that was never stored.
    #[error("{table} row refers to unknown user {user}")]
    UnknownUser {
        /// The table, e.g. `sessions`.
        table: &'static str,
        /// The user name that is not in `users`.
        user: String,
    },
    /// The store cannot serve requests (a worker task died).
    #[error("store unavailable in {op}: {reason}")]
    Unavailable {
        /// The store operation, e.g. `insert_session`.
        op: &'static str,
        /// What went wrong.
        reason: String,
    },
}

impl StoreError {
    /// Whether the database cannot serve right now but may again soon: no
    /// connection, the server shutting down, a full disk, a busy or locked
    /// file, an I/O failure. Callers answer these with "try again later"
    /// rather than as a bug.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Pool { .. } | Self::Unavailable { .. } => true,
            Self::Sqlite { source, .. } => sqlite_unavailable(source),
            Self::Postgres { source, .. } => postgres_unavailable(source),
            _ => false,
        }
    }
}

fn sqlite_unavailable(error: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::*;
    matches!(
        error.sqlite_error_code(),
        Some(DiskFull | DatabaseBusy | DatabaseLocked | CannotOpen | SystemIoFailure | ReadOnly)
    )
}

fn postgres_unavailable(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    let Some(db) = error.as_db_error() else {
        // No answer from the server at all: an I/O or connection failure.
        return std::error::Error::source(error).is_some();
    };
    // Connection exceptions (08), insufficient resources such as a full
    // disk (53), operator intervention such as a shutdown (57P).
    let code = db.code().code();
    code.starts_with("08") || code.starts_with("53") || code.starts_with("57P")
}

/// A hash or other secret-derived key shortened for messages: the first 8
/// characters and an ellipsis.
pub(crate) fn short(key: &str) -> String {
    let prefix: String = key.chars().take(8).collect();
    if prefix.len() < key.len() {
        format!("{prefix}…")
    } else {
        prefix
    }
}
