//! Test environments for the suite: a fresh SQLite file in a temporary
//! folder, or a fresh PostgreSQL database `atelier_test_<random hex>` that is
//! dropped afterwards, whether the check passed or panicked.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use atelier_core::SessionId;
use atelier_store::{Store, StoreConfig};
use tokio_postgres::NoTls;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A fresh, empty place for a store, handed to one check.
#[derive(Clone)]
pub(crate) struct Env {
    /// How to open the store.
    pub(crate) config: StoreConfig,
    /// Keeps the SQLite folder alive as long as any clone of the env.
    _dir: Option<Arc<tempfile::TempDir>>,
}

impl Env {
    /// Opens (and migrates) a store on this env; each call is a separate
    /// pool or connection, as a separate server process would have.
    pub(crate) async fn open(&self) -> Arc<dyn Store> {
        match atelier_store::open(&self.config).await {
            Ok(store) => store,
            Err(err) => panic!("opening {:?} failed: {}", self.config, chain(&err)),
        }
    }

    /// The SQLite file, or None for PostgreSQL.
    pub(crate) fn sqlite_path(&self) -> Option<&Path> {
        match &self.config {
            StoreConfig::Sqlite { path } => Some(path),
            StoreConfig::Postgres { .. } => None,
        }
    }

    /// Runs raw SQL (literals only) behind the store's back.
    pub(crate) async fn exec(&self, sql: &str) {
        match &self.config {
            StoreConfig::Sqlite { path } => {
                let conn = rusqlite::Connection::open(path).expect("open sqlite");
                conn.execute_batch(sql).expect("raw sql");
            }
            StoreConfig::Postgres { url } => {
                connect(url)
                    .await
                    .batch_execute(sql)
                    .await
                    .expect("raw sql");
            }
        }
    }

    /// Runs a raw query returning one integer.
    pub(crate) async fn query_i64(&self, sql: &str) -> i64 {
        match &self.config {
            StoreConfig::Sqlite { path } => {
                let conn = rusqlite::Connection::open(path).expect("open sqlite");
                conn.query_row(sql, [], |row| row.get(0))
                    .expect("raw query")
            }
            StoreConfig::Postgres { url } => {
                let row = connect(url)
                    .await
                    .query_one(sql, &[])
                    .await
                    .expect("raw query");
                row.get(0)
            }
        }
    }
}

/// The error and all its sources, for panic messages.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Runs `check` against a fresh SQLite database.
pub(crate) async fn run_sqlite<F, Fut>(check: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("tempdir");
    let path: PathBuf = dir.path().join("atelier.db");
    let env = Env {
        config: StoreConfig::Sqlite { path },
        _dir: Some(Arc::new(dir)),
    };
    finish(tokio::spawn(check(env)).await);
}

/// Runs `check` against a fresh PostgreSQL database, dropped afterwards.
pub(crate) async fn run_postgres<F, Fut>(check: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let admin_url = std::env::var("ATELIER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
    let admin = connect(&admin_url).await;
    let name = format!("atelier_test_{}", SessionId::generate());
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    let env = Env {
        config: StoreConfig::Postgres {
            url: with_dbname(&admin_url, &name),
        },
        _dir: None,
    };

    let outcome = tokio::spawn(check(env)).await;
    let dropped = admin
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await;
    finish(outcome);
    dropped.expect("drop test database");
}

/// Re-raises a check's panic in the test's own thread.
fn finish(outcome: Result<(), tokio::task::JoinError>) {
    match outcome {
        Ok(()) => {}
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        Err(err) => panic!("check did not finish: {err}"),
    }
}

/// A plain client for `url`; fails the test, saying how to get a server,
/// when PostgreSQL does not answer.
async fn connect(url: &str) -> tokio_postgres::Client {
    match tokio_postgres::connect(url, NoTls).await {
        Ok((client, connection)) => {
            tokio::spawn(connection);
            client
        }
        Err(err) => panic!(
            "PostgreSQL is not reachable ({}): run scripts/test-env.sh to start it, \
             or set ATELIER_TEST_POSTGRES_URL",
            chain(&err)
        ),
    }
}

/// `url` pointed at database `name`: a later `dbname` overrides the path
/// in URL form, and the last key wins in key-value form.
fn with_dbname(url: &str, name: &str) -> String {
    if url.contains("://") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}dbname={name}")
    } else {
        format!("{url} dbname={name}")
    }
}
