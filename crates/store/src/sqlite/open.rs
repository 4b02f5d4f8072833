//! Creating, configuring and migrating the SQLite database file.
//!
//! The file is created with mode 0600 before SQLite touches it, so it never
//! holds data readable by others; SQLite gives its `-wal` and `-shm` files the
//! database file's mode. Migrations run under `BEGIN IMMEDIATE`, so two
//! processes opening one file at once apply each step once.

use std::fs::{OpenOptions, Permissions};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use atelier_core::Timestamp;
use rusqlite::{Connection, TransactionBehavior};

use super::sql_error;
use crate::migrations::{latest_version, CREATE_BOOKKEEPING, MIGRATIONS};
use crate::{Result, StoreError};

const OP: &str = "open";
const FILE_MODE: u32 = 0o600;

/// Opens `path` (creating it with mode 0600), sets WAL, a 5 s busy timeout
/// and foreign keys, and applies pending migrations.
pub(super) fn open_connection(path: &Path) -> Result<Connection> {
    create_private_file(path)?;
    let mut conn = Connection::open(path).map_err(sql_error(OP))?;
    configure(&conn)?;
    migrate(&mut conn)?;
    for suffix in ["-wal", "-shm"] {
        let mut companion = path.as_os_str().to_owned();
        companion.push(suffix);
        restrict_if_present(&PathBuf::from(companion))?;
    }
    Ok(conn)
}

/// Creates the database file with mode 0600 if it is absent, and narrows
/// the mode of an existing one to 0600.
fn create_private_file(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(StoreError::MissingDir {
            dir: dir.to_path_buf(),
        });
    }
    let file_error = |source| StoreError::File {
        path: path.to_path_buf(),
        source,
    };
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(FILE_MODE)
        .open(path)
        .map_err(file_error)?;
    restrict_if_present(path)
}

/// Sets mode 0600 on `path` if it exists with any other mode.
fn restrict_if_present(path: &Path) -> Result<()> {
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(StoreError::File {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    if metadata.permissions().mode() & 0o7777 != FILE_MODE {
        tracing::warn!(path = %path.display(), "narrowing database file mode to 0600");
        std::fs::set_permissions(path, Permissions::from_mode(FILE_MODE)).map_err(|source| {
            StoreError::File {
                path: path.to_path_buf(),
                source,
            }
        })?;
    }
    Ok(())
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(sql_error(OP))?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(sql_error(OP))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(journal_mode = %mode, "SQLite refused WAL mode");
    }
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(sql_error(OP))?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(sql_error(OP))?;
    Ok(())
}

/// Applies every migration the database lacks, in one immediate transaction.
fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql_error("migrate"))?;
    tx.execute_batch(CREATE_BOOKKEEPING)
        .map_err(sql_error("migrate"))?;
    let current: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |row| row.get(0),
        )
        .map_err(sql_error("migrate"))?;
    if current > latest_version() {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known: latest_version(),
        });
    }
    for step in MIGRATIONS.iter().filter(|m| m.version > current) {
        let failed = |err: rusqlite::Error| StoreError::Migration {
            version: step.version,
            name: step.name,
            source: Box::new(err),
        };
        tx.execute_batch(step.sqlite).map_err(failed)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            (step.version, step.name, Timestamp::now().as_millis()),
        )
        .map_err(failed)?;
        tracing::info!(
            backend = "sqlite",
            version = step.version,
            name = step.name,
            "migrated"
        );
    }
    tx.commit().map_err(sql_error("migrate"))
}
