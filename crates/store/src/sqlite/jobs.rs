//! The job statements of the SQLite store: the insert of all eighteen
//! columns, the filtered list, the compare-and-set update and the
//! conditional delete. States are bound as a JSON array read with
//! `json_each`, and unset filter fields as NULL, so every statement is fixed
//! text.

use atelier_core::{Job, JobId, JobState, UserName};
use rusqlite::params;

use super::{millis, Key, SqliteStore};
use crate::rows::{self, command_json, contains_pattern, env_json, job_columns};
use crate::{job_state_names, JobChange, JobFilter, Result};

/// `states` as the JSON array that `json_each` reads.
fn states_json(states: &[JobState]) -> String {
    serde_json::Value::from(job_state_names(states)).to_string()
}

/// Stores a new job, every column included.
pub(super) async fn insert(store: &SqliteStore, job: &Job) -> Result<()> {
    let op = "insert_job";
    let sql = concat!(
        "INSERT INTO jobs (",
        job_columns!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
    );
    let j = job.clone();
    let key = Key {
        table: "jobs",
        key: format!("job {}", j.id),
        user: j.user.to_string(),
    };
    store
        .call(op, move |conn| {
            let result = conn.prepare_cached(sql).and_then(|mut stmt| {
                stmt.execute(params![
                    j.id.as_str(),
                    j.user.as_str(),
                    j.name,
                    j.state.as_str(),
                    command_json(&j.command),
                    j.workdir,
                    env_json(&j.env),
                    j.python,
                    j.r,
                    j.profile,
                    j.cluster,
                    j.node,
                    j.created_at.as_millis(),
                    millis(j.started_at),
                    millis(j.ended_at),
                    j.exit_code,
                    j.error,
                    j.handle,
                ])
            });
            result.map(drop).map_err(|err| key.classify(op, err))
        })
        .await
}

/// The jobs matching `filter`, newest created first, at most `limit`.
///
/// SQLite's `LIKE` folds case for ASCII letters only.
pub(super) async fn list(store: &SqliteStore, filter: &JobFilter) -> Result<Vec<Job>> {
    let sql = concat!(
        "SELECT ",
        job_columns!(),
        " FROM jobs \
         WHERE (?1 IS NULL OR user_name = ?1) \
         AND (?2 IS NULL OR state IN (SELECT value FROM json_each(?2))) \
         AND (?3 IS NULL OR name LIKE ?3 ESCAPE '\\') \
         AND (?4 IS NULL OR created_at >= ?4) \
         AND (?5 IS NULL OR created_at < ?5) \
         AND (?6 IS NULL OR ended_at < ?6) \
         AND (?7 IS NULL OR node = ?7) \
         ORDER BY created_at DESC, id DESC \
         LIMIT coalesce(?8, -1)"
    );
    let f = filter;
    let params = (
        f.user.as_ref().map(UserName::to_string),
        f.states.as_deref().map(states_json),
        f.name_contains.as_deref().map(contains_pattern),
        millis(f.created_after),
        millis(f.created_before),
        millis(f.ended_before),
        f.node.clone(),
        f.limit.map(i64::from),
    );
    store.query("list_jobs", sql, params, rows::job).await
}

/// The compare-and-set update: one `UPDATE ... WHERE state IN (...)
/// RETURNING`, so a concurrent writer either sees the old row or the new.
pub(super) async fn update(
    store: &SqliteStore,
    id: &JobId,
    from: &[JobState],
    change: &JobChange,
) -> Result<Option<Job>> {
    let sql = concat!(
        "UPDATE jobs SET state = coalesce(?3, state), node = coalesce(?4, node), \
         started_at = coalesce(?5, started_at), ended_at = coalesce(?6, ended_at), \
         exit_code = coalesce(?7, exit_code), error = coalesce(?8, error), \
         handle = coalesce(?9, handle) \
         WHERE id = ?1 AND state IN (SELECT value FROM json_each(?2)) RETURNING ",
        job_columns!()
    );
    let c = change.clone();
    let params = (
        id.to_string(),
        states_json(from),
        c.state.map(JobState::as_str),
        c.node,
        millis(c.started_at),
        millis(c.ended_at),
        c.exit_code,
        c.error,
        c.handle,
    );
    store.query_opt("update_job", sql, params, rows::job).await
}

/// Deletes job `id` if its state is in `from`.
pub(super) async fn delete(store: &SqliteStore, id: &JobId, from: &[JobState]) -> Result<bool> {
    let sql = "DELETE FROM jobs WHERE id = ?1 AND state IN (SELECT value FROM json_each(?2))";
    let params = (id.to_string(), states_json(from));
    Ok(store.execute("delete_job", sql, params).await? > 0)
}

/// The job `id`, if it exists.
pub(super) async fn get(store: &SqliteStore, id: &JobId) -> Result<Option<Job>> {
    let sql = concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = ?1");
    store
        .query_opt("get_job", sql, [id.to_string()], rows::job)
        .await
}
