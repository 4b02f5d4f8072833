//! Bringing a PostgreSQL schema up to date. Everything runs in one
//! transaction that first takes a transaction-level advisory lock, so when
//! several nodes start at once, one migrates and the others wait, then find
//! nothing left to do.

use atelier_core::Timestamp;

use super::{pg_error, PgStore};
use crate::migrations::{latest_version, CREATE_BOOKKEEPING, MIGRATIONS};
use crate::{Result, StoreError};

/// The advisory lock key: "atelier" in ASCII.
const LOCK_KEY: i64 = 0x0061_7465_6c69_6572;

const OP: &str = "migrate";

/// Applies every migration the database lacks.
pub(super) async fn run(store: &PgStore) -> Result<()> {
    let mut client = store.client(OP).await?;
    let tx = client.transaction().await.map_err(pg_error(OP))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .await
        .map_err(pg_error(OP))?;
    tx.batch_execute(CREATE_BOOKKEEPING)
        .await
        .map_err(pg_error(OP))?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
            &[],
        )
        .await
        .and_then(|row| row.try_get(0))
        .map_err(pg_error(OP))?;
    if current > latest_version() {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known: latest_version(),
        });
    }
    for step in MIGRATIONS.iter().filter(|m| m.version > current) {
        let failed = |err: tokio_postgres::Error| StoreError::Migration {
            version: step.version,
            name: step.name,
            source: Box::new(err),
        };
        tx.batch_execute(step.postgres).await.map_err(failed)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[&step.version, &step.name, &Timestamp::now().as_millis()],
        )
        .await
        .map_err(failed)?;
        tracing::info!(
            backend = "postgres",
            version = step.version,
            name = step.name,
            "migrated"
        );
    }
    tx.commit().await.map_err(pg_error(OP))
}
