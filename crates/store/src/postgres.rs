//! The PostgreSQL store: a deadpool pool of at most 16 connections and
//! cached prepared statements. Every state change is one statement, so
//! several server processes can share the database.

mod accounts;
mod jobs;
mod migrate;
mod sessions;

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use atelier_core::{
    Job, JobId, JobState, Session, SessionId, SessionState, Timestamp, User, UserName,
};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use crate::rows::{self, RawRow};
use crate::{counts_in_order, state_names, Result, StoreError};
use crate::{
    ApiToken, AuditEvent, JobChange, JobFilter, Login, SessionChange, SessionFilter, Store,
};

/// Statement parameters as tokio-postgres takes them.
type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// The PostgreSQL implementation of [`Store`].
pub(crate) struct PgStore {
    pool: Pool,
    /// See [`Store::credentials_epoch`]; moved after each change is written.
    credentials_epoch: AtomicU64,
}

impl PgStore {
    /// Builds the pool for `url` and brings the schema up to date.
    pub(crate) async fn connect(url: &str) -> Result<Self> {
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|source| StoreError::PostgresUrl { source })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = Manager::from_config(config, NoTls, manager_config);
        let pool = Pool::builder(manager)
            .max_size(16)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(15)))
            .wait_timeout(Some(Duration::from_secs(30)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|err| StoreError::Unavailable {
                op: "open",
                reason: err.to_string(),
            })?;
        let store = Self {
            pool,
            credentials_epoch: AtomicU64::new(0),
        };
        migrate::run(&store).await?;
        tracing::info!(backend = "postgres", "store opened");
        Ok(store)
    }

    /// A pooled connection for operation `op`.
    async fn client(&self, op: &'static str) -> Result<Object> {
        self.pool
            .get()
            .await
            .map_err(|source| StoreError::Pool { op, source })
    }

    /// Runs one statement that changes rows; returns how many.
    async fn execute(&self, op: &'static str, sql: &str, params: Params<'_>) -> Result<u64> {
        let client = self.client(op).await?;
        let stmt = client.prepare_cached(sql).await.map_err(pg_error(op))?;
        client.execute(&stmt, params).await.map_err(pg_error(op))
    }

    /// Runs one query and decodes every row with `decode`.
    async fn query<T>(
        &self,
        op: &'static str,
        sql: &str,
        params: Params<'_>,
        decode: fn(&dyn RawRow) -> Result<T>,
    ) -> Result<Vec<T>> {
        let client = self.client(op).await?;
        let stmt = client.prepare_cached(sql).await.map_err(pg_error(op))?;
        let found = client.query(&stmt, params).await.map_err(pg_error(op))?;
        found.iter().map(|row| decode(row)).collect()
    }

    /// Runs one query and decodes its first row, if any.
    async fn query_opt<T>(
        &self,
        op: &'static str,
        sql: &str,
        params: Params<'_>,
        decode: fn(&dyn RawRow) -> Result<T>,
    ) -> Result<Option<T>> {
        let client = self.client(op).await?;
        let stmt = client.prepare_cached(sql).await.map_err(pg_error(op))?;
        let found = client
            .query_opt(&stmt, params)
            .await
            .map_err(pg_error(op))?;
        found.as_ref().map(|row| decode(row)).transpose()
    }

    /// Runs an insert, reporting a duplicate `key` or an unknown `user`.
    async fn insert(
        &self,
        op: &'static str,
        sql: &str,
        params: Params<'_>,
        key: Key,
    ) -> Result<()> {
        let client = self.client(op).await?;
        let stmt = client.prepare_cached(sql).await.map_err(pg_error(op))?;
        client
            .execute(&stmt, params)
            .await
            .map(drop)
            .map_err(|err| key.classify(op, err))
    }
}

/// What an insert was about, to name it when a constraint refuses it.
struct Key {
    table: &'static str,
    key: String,
    user: String,
}

impl Key {
    fn classify(self, op: &'static str, err: tokio_postgres::Error) -> StoreError {
        match err.code() {
            Some(code) if *code == SqlState::UNIQUE_VIOLATION => StoreError::Conflict {
                table: self.table,
                key: self.key,
            },
            Some(code) if *code == SqlState::FOREIGN_KEY_VIOLATION => StoreError::UnknownUser {
                table: self.table,
                user: self.user,
            },
            _ => StoreError::Postgres { op, source: err },
        }
    }
}

/// Maps a driver error to [`StoreError::Postgres`] for operation `op`.
fn pg_error(op: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError {
    move |source| StoreError::Postgres { op, source }
}

impl RawRow for Row {
    fn text(&self, idx: usize) -> std::result::Result<Option<String>, String> {
        self.try_get(idx).map_err(|err| err.to_string())
    }

    /// Reads BIGINT, or INTEGER widened (`exit_code` is an INTEGER).
    fn int(&self, idx: usize) -> std::result::Result<Option<i64>, String> {
        self.try_get::<_, Option<i64>>(idx).or_else(|err| {
            let narrow = self
                .try_get::<_, Option<i32>>(idx)
                .map_err(|_| err.to_string())?;
            Ok(narrow.map(i64::from))
        })
    }
}

fn millis(at: Option<Timestamp>) -> Option<i64> {
    at.map(Timestamp::as_millis)
}

#[async_trait::async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<()> {
        self.query("ping", "SELECT 1", &[], |_| Ok(()))
            .await
            .map(drop)
    }

    fn credentials_epoch(&self) -> u64 {
        self.credentials_epoch.load(Ordering::Acquire)
    }

    async fn upsert_user(&self, user: &User) -> Result<()> {
        let sql = "INSERT INTO users (name, role) VALUES ($1, $2) \
                   ON CONFLICT (name) DO UPDATE SET role = EXCLUDED.role";
        let params: Params<'_> = &[&user.name.as_str(), &user.role.as_str()];
        let done = self.execute("upsert_user", sql, params).await.map(drop);
        self.credentials_epoch.fetch_add(1, Ordering::AcqRel);
        done
    }

    async fn get_user(&self, name: &UserName) -> Result<Option<User>> {
        let sql = concat!(
            "SELECT ",
            rows::user_columns!(),
            " FROM users WHERE name = $1"
        );
        self.query_opt("get_user", sql, &[&name.as_str()], rows::user)
            .await
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let sql = concat!(
            "SELECT ",
            rows::user_columns!(),
            " FROM users ORDER BY name"
        );
        self.query("list_users", sql, &[], rows::user).await
    }

    async fn insert_api_token(&self, token: &ApiToken) -> Result<()> {
        accounts::insert_api_token(self, token).await
    }

    async fn find_api_token(&self, hash: &str) -> Result<Option<ApiToken>> {
        let sql = concat!(
            "SELECT ",
            rows::token_columns!(),
            " FROM api_tokens WHERE hash = $1"
        );
        self.query_opt("find_api_token", sql, &[&hash], rows::api_token)
            .await
    }

    async fn touch_api_token(&self, id: &str, at: Timestamp) -> Result<()> {
        let sql = "UPDATE api_tokens SET last_used_at = GREATEST(last_used_at, $2) WHERE id = $1";
        let params: Params<'_> = &[&id, &at.as_millis()];
        self.execute("touch_api_token", sql, params).await.map(drop)
    }

    async fn delete_api_token(&self, id: &str) -> Result<bool> {
        let sql = "DELETE FROM api_tokens WHERE id = $1";
        let done = self.execute("delete_api_token", sql, &[&id]).await;
        self.credentials_epoch.fetch_add(1, Ordering::AcqRel);
        Ok(done? > 0)
    }

    async fn list_api_tokens(&self, user: &UserName) -> Result<Vec<ApiToken>> {
        let sql = concat!(
            "SELECT ",
            rows::token_columns!(),
            " FROM api_tokens WHERE user_name = $1 ORDER BY created_at, id"
        );
        self.query("list_api_tokens", sql, &[&user.as_str()], rows::api_token)
            .await
    }

    async fn insert_login(&self, login: &Login) -> Result<()> {
        accounts::insert_login(self, login).await
    }

    async fn find_login(&self, hash: &str, now: Timestamp) -> Result<Option<Login>> {
        let sql = concat!(
            "SELECT ",
            rows::login_columns!(),
            " FROM logins WHERE hash = $1 AND revoked_at IS NULL AND expires_at > $2"
        );
        let params: Params<'_> = &[&hash, &now.as_millis()];
        self.query_opt("find_login", sql, params, rows::login).await
    }

    async fn revoke_login(&self, hash: &str) -> Result<()> {
        let sql = "UPDATE logins SET revoked_at = COALESCE(revoked_at, $2) WHERE hash = $1";
        let params: Params<'_> = &[&hash, &Timestamp::now().as_millis()];
        let done = self.execute("revoke_login", sql, params).await.map(drop);
        self.credentials_epoch.fetch_add(1, Ordering::AcqRel);
        done
    }

    async fn purge_expired_logins(&self, now: Timestamp) -> Result<u64> {
        let sql = "DELETE FROM logins WHERE expires_at <= $1";
        self.execute("purge_expired_logins", sql, &[&now.as_millis()])
            .await
    }

    async fn insert_session(&self, session: &Session) -> Result<()> {
        sessions::insert(self, session).await
    }

    async fn get_session(&self, id: &SessionId) -> Result<Option<Session>> {
        let sql = concat!(
            "SELECT ",
            rows::session_columns!(),
            " FROM sessions WHERE id = $1"
        );
        self.query_opt("get_session", sql, &[&id.as_str()], rows::session)
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
        let sql = "UPDATE sessions SET last_active_at = GREATEST(last_active_at, $2) WHERE id = $1";
        let params: Params<'_> = &[&id.as_str(), &at.as_millis()];
        self.execute("touch_session", sql, params).await.map(drop)
    }

    async fn delete_session(&self, id: &SessionId, from: &[SessionState]) -> Result<bool> {
        let sql = "DELETE FROM sessions WHERE id = $1 AND state = ANY($2)";
        let params: Params<'_> = &[&id.as_str(), &state_names(from)];
        Ok(self.execute("delete_session", sql, params).await? > 0)
    }

    async fn count_sessions_by_state(&self) -> Result<Vec<(SessionState, u64)>> {
        let sql = "SELECT state, COUNT(*) FROM sessions GROUP BY state";
        let found = self
            .query("count_sessions_by_state", sql, &[], rows::state_count)
            .await?;
        Ok(counts_in_order(&found))
    }

    async fn get_or_insert_setting(&self, key: &str, value: &str) -> Result<String> {
        // On conflict the no-op update makes RETURNING yield the stored value,
        // so one statement both inserts (first writer wins) and reads.
        let sql = "INSERT INTO settings (key, value) VALUES ($1, $2) \
                   ON CONFLICT (key) DO UPDATE SET value = settings.value RETURNING key, value";
        let op = "get_or_insert_setting";
        let params: Params<'_> = &[&key, &value];
        let found = self.query_opt(op, sql, params, rows::setting_value).await?;
        found.ok_or_else(|| StoreError::Unavailable {
            op,
            reason: format!("setting {key} was neither inserted nor found"),
        })
    }

    async fn append_audit(&self, event: &AuditEvent) -> Result<()> {
        let sql = "INSERT INTO audit (at, user_name, action, target, detail) \
                   VALUES ($1, $2, $3, $4, $5)";
        let e = event;
        let user = e.user.as_ref().map(UserName::as_str);
        let params: Params<'_> = &[&e.at.as_millis(), &user, &e.action, &e.target, &e.detail];
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
            " FROM audit ORDER BY at DESC, id DESC LIMIT $1"
        );
        self.query("list_audit", sql, &[&i64::from(limit)], rows::audit_event)
            .await
    }
}
