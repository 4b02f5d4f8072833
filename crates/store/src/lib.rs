//! Persistent state behind one trait, with SQLite and PostgreSQL implementations.
//!
//! [`open`] returns an `Arc<dyn Store>` for either backend. Both run the same
//! ordered migrations (see `migrations.rs`), keep the same tables and columns,
//! and pass the same test suite (`tests/suite`). SQLite is the embedded default
//! for a single server; PostgreSQL lets several server processes share one
//! database, which is why every state change that can race (session and job
//! state, settings) is a single atomic statement.

mod config;
mod error;
mod migrations;
mod postgres;
mod rows;
mod sqlite;
mod types;

use std::sync::Arc;

use atelier_core::{
    Job, JobId, JobState, Session, SessionId, SessionState, Timestamp, User, UserName,
};

pub use config::StoreConfig;
pub use error::StoreError;
pub use types::{ApiToken, AuditEvent, JobChange, JobFilter, Login, SessionChange, SessionFilter};

/// The result of every store operation.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Opens the store described by `config`, creating it if needed, and brings
/// its schema up to date.
///
/// SQLite: WAL mode, busy timeout 5 s, foreign keys on; the database file and
/// its `-wal`/`-shm` companions are mode 0600; the parent folder must exist.
/// PostgreSQL: a pool of at most 16 connections; migrations run in one
/// transaction under `pg_advisory_xact_lock`, so nodes starting together do
/// not race.
pub async fn open(config: &StoreConfig) -> Result<Arc<dyn Store>> {
    match config {
        StoreConfig::Sqlite { path } => {
            let store = sqlite::SqliteStore::open(path.clone()).await?;
            Ok(Arc::new(store))
        }
        StoreConfig::Postgres { url } => {
            let store = postgres::PgStore::connect(url).await?;
            Ok(Arc::new(store))
        }
    }
}

/// Everything Atelier keeps between restarts: users, API tokens, browser
/// logins, sessions, jobs, settings and the audit log.
///
/// Callers must [`upsert_user`](Store::upsert_user) a user before storing
/// tokens, logins, sessions or jobs for them: those rows reference the user, and
/// storing one for an unknown user fails with [`StoreError::UnknownUser`].
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Checks that the database answers.
    async fn ping(&self) -> Result<()>;

    /// A counter that this store object moves forward after every change
    /// that can withdraw a credential or a role: [`upsert_user`],
    /// [`delete_api_token`] and [`revoke_login`]. A cache of answers to
    /// [`find_api_token`], [`find_login`] and [`get_user`] that notes the
    /// counter before it asks, and drops what it holds once the counter
    /// moved, never serves a credential that this process withdrew. Changes
    /// made by other processes on the same database do not move it.
    ///
    /// [`upsert_user`]: Store::upsert_user
    /// [`delete_api_token`]: Store::delete_api_token
    /// [`revoke_login`]: Store::revoke_login
    /// [`find_api_token`]: Store::find_api_token
    /// [`find_login`]: Store::find_login
    /// [`get_user`]: Store::get_user
    fn credentials_epoch(&self) -> u64;

    /// Inserts `user`, or updates the role of an existing user of that name.
    async fn upsert_user(&self, user: &User) -> Result<()>;
    /// The user called `name`, if known.
    async fn get_user(&self, name: &UserName) -> Result<Option<User>>;
    /// Every user, ordered by name.
    async fn list_users(&self) -> Result<Vec<User>>;

    /// Stores a new API token. Its id and hash must both be unused.
    async fn insert_api_token(&self, token: &ApiToken) -> Result<()>;
    /// The token whose hash is `hash`, if any.
    async fn find_api_token(&self, hash: &str) -> Result<Option<ApiToken>>;
    /// Records that token `id` was used at `at` (never moves backwards). A
    /// missing token is not an error.
    async fn touch_api_token(&self, id: &str, at: Timestamp) -> Result<()>;
    /// Deletes token `id`; false if there was none.
    async fn delete_api_token(&self, id: &str) -> Result<bool>;
    /// The tokens of `user`, oldest first.
    async fn list_api_tokens(&self, user: &UserName) -> Result<Vec<ApiToken>>;

    /// Stores a new browser login. Its hash must be unused.
    async fn insert_login(&self, login: &Login) -> Result<()>;
    /// The login whose cookie hashes to `hash`; None if unknown, revoked, or
    /// expired at `now` (`expires_at <= now`).
    async fn find_login(&self, hash: &str, now: Timestamp) -> Result<Option<Login>>;
    /// Revokes a login. Nothing un-revokes it: [`find_login`](Store::find_login)
    /// refuses it from then on, and storing the same hash again is a conflict.
    async fn revoke_login(&self, hash: &str) -> Result<()>;
    /// Deletes logins that expired at or before `now`; returns how many.
    async fn purge_expired_logins(&self, now: Timestamp) -> Result<u64>;

    /// Stores a new session with all its fields, secret and handle included.
    async fn insert_session(&self, session: &Session) -> Result<()>;
    /// The session `id`, if it exists.
    async fn get_session(&self, id: &SessionId) -> Result<Option<Session>>;
    /// The sessions matching every set field of `filter`, newest created
    /// first.
    async fn list_sessions(&self, filter: &SessionFilter) -> Result<Vec<Session>>;
    /// Compare-and-set: applies `change` only if the session exists and its
    /// current state is one of `from`; returns the updated record, or None
    /// (missing, or state not in `from`). One atomic statement, so it holds
    /// with several server processes on one database.
    async fn update_session(
        &self,
        id: &SessionId,
        from: &[SessionState],
        change: &SessionChange,
    ) -> Result<Option<Session>>;
    /// Sets `last_active_at` to the later of its current value and `at`. A
    /// missing session is not an error.
    async fn touch_session(&self, id: &SessionId, at: Timestamp) -> Result<()>;
    /// Deletes session `id` only if its state is one of `from`; true if a
    /// row was deleted.
    async fn delete_session(&self, id: &SessionId, from: &[SessionState]) -> Result<bool>;
    /// How many sessions are in each state: every state of
    /// [`SessionState::ALL`], in that order, zeros included.
    async fn count_sessions_by_state(&self) -> Result<Vec<(SessionState, u64)>>;

    /// Returns the stored value for `key`, inserting `value` first if the key
    /// is absent (first writer wins, atomic across processes). Used for the
    /// cookie-signing key.
    async fn get_or_insert_setting(&self, key: &str, value: &str) -> Result<String>;

    /// Appends an event to the audit log.
    async fn append_audit(&self, event: &AuditEvent) -> Result<()>;

    /// Stores a new job with all its fields. Its id must be unused and its
    /// user stored ([`StoreError::Conflict`], [`StoreError::UnknownUser`]).
    async fn insert_job(&self, job: &Job) -> Result<()>;
    /// The job `id`, if it exists.
    async fn get_job(&self, id: &JobId) -> Result<Option<Job>>;
    /// The jobs matching every set field of `filter`, newest created first,
    /// at most `filter.limit`. `name_contains` is a literal substring (`%`,
    /// `_` and `\` are not wildcards), case-insensitive: SQLite folds ASCII
    /// letters only, PostgreSQL follows the database's locale.
    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>>;
    /// Compare-and-set: applies `change` only if the job exists and its state
    /// is one of `from`; returns the updated record, or None (missing, or
    /// state not in `from`). One atomic statement, as for sessions.
    async fn update_job(
        &self,
        id: &JobId,
        from: &[JobState],
        change: &JobChange,
    ) -> Result<Option<Job>>;
    /// Deletes job `id` only if its state is one of `from`; true if a row
    /// was deleted.
    async fn delete_job(&self, id: &JobId, from: &[JobState]) -> Result<bool>;

    /// The latest `limit` audit events, newest first.
    async fn list_audit(&self, limit: u32) -> Result<Vec<AuditEvent>>;
}

/// Counts in [`SessionState::ALL`] order, zeros included, from
/// (state, count) pairs as the database returned them.
fn counts_in_order(found: &[(SessionState, u64)]) -> Vec<(SessionState, u64)> {
    SessionState::ALL
        .into_iter()
        .map(|state| {
            let count = found
                .iter()
                .filter(|(s, _)| *s == state)
                .map(|(_, n)| n)
                .sum();
            (state, count)
        })
        .collect()
}

/// The names of `states`, as bound to a statement: SQLite gets them as a
/// JSON array for `json_each`, PostgreSQL as a `text[]` for `ANY`.
fn state_names(states: &[SessionState]) -> Vec<&'static str> {
    states.iter().map(|state| state.as_str()).collect()
}

/// The names of job `states`, bound the same way as [`state_names`].
fn job_state_names(states: &[JobState]) -> Vec<&'static str> {
    states.iter().map(|state| state.as_str()).collect()
}
