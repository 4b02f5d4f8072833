//! The SQLite store: one connection, owned by a thread of its own that runs
//! the calls in order ([`worker`]). Every state change is one statement, so
//! it stays atomic even when another process has the same file open.

mod accounts;
mod jobs;
mod open;
mod sessions;
mod worker;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use atelier_core::{
    Job, JobId, JobState, Session, SessionId, SessionState, Timestamp, User, UserName,
};
use rusqlite::{ffi, Connection, Params};

use crate::rows::{self, RawRow};
use crate::{counts_in_order, state_names, Result, StoreError};
use crate::{
    ApiToken, AuditEvent, JobChange, JobFilter, Login, SessionChange, SessionFilter, Store,
};

/// The SQLite implementation of [`Store`].
pub(crate) struct SqliteStore {
    worker: worker::Worker,
    /// See [`Store::credentials_epoch`]; moved after each change is written.
    credentials_epoch: AtomicU64,
}

impl SqliteStore {
    /// Opens (creating and migrating) the database at `path`.
    pub(crate) async fn open(path: PathBuf) -> Result<Self> {
        let conn = tokio::task::spawn_blocking(move || {
            let conn = open::open_connection(&path)?;
            tracing::info!(backend = "sqlite", path = %path.display(), "store opened");
            Ok::<_, StoreError>(conn)
        })
        .await
        .map_err(|err| StoreError::Unavailable {
            op: "open",
            reason: err.to_string(),
        })??;
        let worker = worker::Worker::start(conn).map_err(|err| StoreError::Unavailable {
            op: "open",
            reason: format!("cannot start the SQLite thread: {err}"),
        })?;
        Ok(Self {
            worker,
            credentials_epoch: AtomicU64::new(0),
        })
    }

    /// Runs `work` with the connection, on the connection's thread.
    async fn call<T, F>(&self, op: &'static str, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.worker
            .run(work)
            .await
            .ok_or_else(|| StoreError::Unavailable {
                op,
                reason: "the SQLite call panicked".to_owned(),
            })?
    }

    /// Runs one statement that changes rows; returns how many.
    async fn execute<P>(&self, op: &'static str, sql: &'static str, params: P) -> Result<usize>
    where
        P: Params + Send + 'static,
    {
        self.call(op, move |conn| {
            conn.prepare_cached(sql)
                .and_then(|mut stmt| stmt.execute(params))
                .map_err(sql_error(op))
        })
        .await
    }

    /// Runs one query and decodes every row with `decode`.
    async fn query<T, P>(
        &self,
        op: &'static str,
        sql: &'static str,
        params: P,
        decode: fn(&dyn RawRow) -> Result<T>,
    ) -> Result<Vec<T>>
    where
        T: Send + 'static,
        P: Params + Send + 'static,
    {
        self.call(op, move |conn| {
            let mut stmt = conn.prepare_cached(sql).map_err(sql_error(op))?;
            let mut rows = stmt.query(params).map_err(sql_error(op))?;
            let mut found = Vec::new();
            while let Some(row) = rows.next().map_err(sql_error(op))? {
                found.push(decode(row)?);
            }
            Ok(found)
        })
        .await
    }

    /// Runs one query and decodes its first row, if any.
    async fn query_opt<T, P>(
        &self,
        op: &'static str,
        sql: &'static str,
        params: P,
        decode: fn(&dyn RawRow) -> Result<T>,
    ) -> Result<Option<T>>
    where
        T: Send + 'static,
        P: Params + Send + 'static,
    {
        Ok(self
            .query(op, sql, params, decode)
            .await?
            .into_iter()
            .next())
    }

    /// Runs an insert, reporting a duplicate `key` or an unknown `user`.
    async fn insert<P>(
        &self,
        op: &'static str,
        sql: &'static str,
        params: P,
        key: Key,
    ) -> Result<()>
    where
        P: Params + Send + 'static,
    {
        self.call(op, move |conn| {
            let result = conn
                .prepare_cached(sql)
                .and_then(|mut stmt| stmt.execute(params));
            result.map(drop).map_err(|err| key.classify(op, err))
        })
        .await
    }
}

/// What an insert was about, to name it when a constraint refuses it.
struct Key {
    table: &'static str,
    key: String,
    user: String,
}

impl Key {
    fn classify(self, op: &'static str, err: rusqlite::Error) -> StoreError {
        match err.sqlite_error().map(|e| e.extended_code) {
            Some(ffi::SQLITE_CONSTRAINT_PRIMARYKEY | ffi::SQLITE_CONSTRAINT_UNIQUE) => {
                StoreError::Conflict {
                    table: self.table,
                    key: self.key,
                }
            }
            Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => StoreError::UnknownUser {
                table: self.table,
                user: self.user,
            },
            _ => StoreError::Sqlite { op, source: err },
        }
    }
}

/// Maps a SQLite error to [`StoreError::Sqlite`] for operation `op`.
fn sql_error(op: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |source| StoreError::Sqlite { op, source }
}

impl RawRow for rusqlite::Row<'_> {
    fn text(&self, idx: usize) -> std::result::Result<Option<String>, String> {
        self.get(idx).map_err(|err| err.to_string())
    }

    fn int(&self, idx: usize) -> std::result::Result<Option<i64>, String> {
        self.get(idx).map_err(|err| err.to_string())
    }
}

/// `states` as the JSON array that `json_each` reads.
fn states_json(states: &[SessionState]) -> String {
    serde_json::Value::from(state_names(states)).to_string()
}

fn millis(at: Option<Timestamp>) -> Option<i64> {
    at.map(Timestamp::as_millis)
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        self.query("ping", "SELECT 1", [], |_| Ok(()))
            .await
            .map(drop)
    }

    fn credentials_epoch(&self) -> u64 {
        self.credentials_epoch.load(Ordering::Acquire)
    }

    async fn upsert_user(&self, user: &User) -> Result<()> {
        let sql = "INSERT INTO users (name, role) VALUES (?1, ?2) \
                   ON CONFLICT (name) DO UPDATE SET role = excluded.role";
        let params = (user.name.to_string(), user.role.as_str());
        let done = self.execute("upsert_user", sql, params).await.map(drop);
        self.credentials_epoch.fetch_add(1, Ordering::AcqRel);
        done
    }

    async fn get_user(&self, name: &UserName) -> Result<Option<User>> {
        let sql = concat!(
            "SELECT ",
            rows::user_columns!(),
            " FROM users WHERE name = ?1"
        );
        self.query_opt("get_user", sql, [name.to_string()], rows::user)
            .await
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let sql = concat!(
            "SELECT ",
            rows::user_columns!(),
            " FROM users ORDER BY name"
        );
        self.query("list_users", sql, [], rows::user).await
    }

    async fn insert_api_token(&self, token: &ApiToken) -> Result<()> {
        accounts::insert_api_token(self, token).await
    }

    async fn find_api_token(&self, hash: &str) -> Result<Option<ApiToken>> {
        let sql = concat!(
            "SELECT ",
            rows::token_columns!(),
            " FROM api_tokens WHERE hash = ?1"
        );
        self.query_opt("find_api_token", sql, [hash.to_owned()], rows::api_token)
            .await
    }

    async fn touch_api_token(&self, id: &str, at: Timestamp) -> Result<()> {
        let sql = "UPDATE api_tokens SET last_used_at = max(coalesce(last_used_at, ?2), ?2) \
                   WHERE id = ?1";
        self.execute("touch_api_token", sql, (id.to_owned(), at.as_millis()))
            .await
            .map(drop)
    }

    async fn delete_api_token(&self, id: &str) -> Result<bool> {
        let sql = "DELETE FROM api_tokens WHERE id = ?1";
        let done = self.execute("delete_api_token", sql, [id.to_owned()]).await;
        self.credentials_epoch.fetch_add(1, Ordering::AcqRel);
        Ok(done? > 0)
    }

    async fn list_api_tokens(&self, user: &UserName) -> Result<Vec<ApiToken>> {
        let sql = concat!(
            "SELECT ",
            rows::token_columns!(),
            " FROM api_tokens WHERE user_name = ?1 ORDER BY created_at, id"
        );
        self.query("list_api_tokens", sql, [user.to_string()], rows::api_token)
            .await
    }

    async fn insert_login(&self, login: &Login) -> Result<()> {
        accounts::insert_login(self, login).await
    }

    async fn find_login(&self, hash: &str, now: Timestamp) -> Result<Option<Login>> {
        let sql = concat!(
            "SELECT ",
            rows::login_columns!(),
            " FROM logins WHERE hash = ?1 AND revoked_at IS NULL AND expires_at > ?2"
        );
        let params = (hash.to_owned(), now.as_millis());
        self.query_opt("find_login", sql, params, rows::login).await
    }

    async fn revoke_login(&self, hash: &str) -> Result<()> {
        let sql = "UPDATE logins SET revoked_at = coalesce(revoked_at, ?2) WHERE hash = ?1";
        let params = (hash.to_owned(), Timestamp::now().as_millis());
        let done = self.execute("revoke_login", sql, params).await.map(drop);
        self.credentials_epoch.fetch_add(1, Ordering::AcqRel);
        done
    }

    async fn purge_expired_logins(&self, now: Timestamp) -> Result<u64> {
        let sql = "DELETE FROM logins WHERE expires_at <= ?1";
        let purged = self
            .execute("purge_expired_logins", sql, [now.as_millis()])
            .await?;
        Ok(purged as u64)
    }

    async fn insert_session(&self, session: &Session) -> Result<()> {
        sessions::insert(self, session).await
    }

    async fn get_session(&self, id: &SessionId) -> Result<Option<Session>> {
        let sql = concat!(
            "SELECT ",
            rows::session_columns!(),
            " FROM sessions WHERE id = ?1"
        );
        self.query_opt("get_session", sql, [id.to_string()], rows::session)
            .await
    }

    async fn list_sessions(&self, filter: &SessionFilter) -> Result<Vec<Session>> {
        sessions::list(self, filter).await
    }

    async fn update_session(
        &self,
        id: &SessionId,
        from: &[SessionState],
        change: &SessionChange,
    ) -> Result<Option<Session>> {
        sessions::update(self, id, from, change).await
    }

    async fn touch_session(&self, id: &SessionId, at: Timestamp) -> Result<()> {
        let sql = "UPDATE sessions SET last_active_at = max(coalesce(last_active_at, ?2), ?2) \
                   WHERE id = ?1";
        self.execute("touch_session", sql, (id.to_string(), at.as_millis()))
            .await
            .map(drop)
    }

    async fn delete_session(&self, id: &SessionId, from: &[SessionState]) -> Result<bool> {
        sessions::delete(self, id, from).await
    }

    async fn count_sessions_by_state(&self) -> Result<Vec<(SessionState, u64)>> {
        let sql = "SELECT state, COUNT(*) FROM sessions GROUP BY state";
        let found = self
            .query("count_sessions_by_state", sql, [], rows::state_count)
            .await?;
        Ok(counts_in_order(&found))
    }

    async fn get_or_insert_setting(&self, key: &str, value: &str) -> Result<String> {
        // On conflict the no-op update makes RETURNING yield the stored value,
        // so one statement both inserts (first writer wins) and reads.
        let sql = "INSERT INTO settings (key, value) VALUES (?1, ?2) \
                   ON CONFLICT (key) DO UPDATE SET value = settings.value RETURNING key, value";
        let op = "get_or_insert_setting";
        let params = (key.to_owned(), value.to_owned());
        let found = self.query_opt(op, sql, params, rows::setting_value).await?;
        found.ok_or_else(|| StoreError::Unavailable {
            op,
            reason: format!("setting {key} was neither inserted nor found"),
        })
    }

    async fn append_audit(&self, event: &AuditEvent) -> Result<()> {
        let sql = "INSERT INTO audit (at, user_name, action, target, detail) \
                   VALUES (?1, ?2, ?3, ?4, ?5)";
        let e = event.clone();
        let params = (
            e.at.as_millis(),
            e.user.map(String::from),
            e.action,
            e.target,
            e.detail,
        );
        self.execute("append_audit", sql, params).await.map(drop)
    }

    async fn insert_job(&self, job: &Job) -> Result<()> {
        jobs::insert(self, job).await
    }

    async fn get_job(&self, id: &JobId) -> Result<Option<Job>> {
        jobs::get(self, id).await
    }

    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        jobs::list(self, filter).await
    }

    async fn update_job(
        &self,
        id: &JobId,
        from: &[JobState],
        change: &JobChange,
    ) -> Result<Option<Job>> {
        jobs::update(self, id, from, change).await
    }

    async fn delete_job(&self, id: &JobId, from: &[JobState]) -> Result<bool> {
        jobs::delete(self, id, from).await
    }

    async fn list_audit(&self, limit: u32) -> Result<Vec<AuditEvent>> {
        let sql = concat!(
            "SELECT ",
            rows::audit_columns!(),
            " FROM audit ORDER BY at DESC, id DESC LIMIT ?1"
        );
        self.query("list_audit", sql, [i64::from(limit)], rows::audit_event)
            .await
    }
}
