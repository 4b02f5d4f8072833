//! The job statements of the PostgreSQL store: the insert of all eighteen
//! columns, the filtered list, the compare-and-set update and the
//! conditional delete. Unset filter fields are bound as typed NULLs, so
//! every statement is fixed text and prepared once per connection.

use atelier_core::{Job, JobId, JobState, UserName};

use super::{millis, Key, Params, PgStore};
use crate::rows::{self, command_json, contains_pattern, env_json, job_columns};
use crate::{job_state_names, JobChange, JobFilter, Result};

/// Stores a new job, every column included.
pub(super) async fn insert(store: &PgStore, job: &Job) -> Result<()> {
    let sql = concat!(
        "INSERT INTO jobs (",
        job_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
    );
    let j = job;
    let key = Key {
        table: "jobs",
        key: format!("job {}", j.id),
        user: j.user.to_string(),
    };
    let params: Params<'_> = &[
        &j.id.as_str(),
        &j.user.as_str(),
        &j.name,
        &j.state.as_str(),
        &command_json(&j.command),
        &j.workdir,
        &env_json(&j.env),
        &j.python,
        &j.r,
        &j.profile,
        &j.cluster,
        &j.node,
        &j.created_at.as_millis(),
        &millis(j.started_at),
        &millis(j.ended_at),
        &j.exit_code,
        &j.error,
        &j.handle,
    ];
    store.insert("insert_job", sql, params, key).await
}

/// The job `id`, if it exists.
pub(super) async fn get(store: &PgStore, id: &JobId) -> Result<Option<Job>> {
    let sql = concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = $1");
    store
        .query_opt("get_job", sql, &[&id.as_str()], rows::job)
        .await
}

/// The jobs matching `filter`, newest created first, at most `limit`
/// (`LIMIT NULL` is no limit). `ILIKE` folds case as the database's locale
/// says.
pub(super) async fn list(store: &PgStore, filter: &JobFilter) -> Result<Vec<Job>> {
    let sql = concat!(
        "SELECT ",
        job_columns!(),
        " FROM jobs \
         WHERE ($1::text IS NULL OR user_name = $1) \
         AND ($2::text[] IS NULL OR state = ANY($2)) \
         AND ($3::text IS NULL OR name ILIKE $3 ESCAPE '\\') \
         AND ($4::bigint IS NULL OR created_at >= $4) \
         AND ($5::bigint IS NULL OR created_at < $5) \
         AND ($6::bigint IS NULL OR ended_at < $6) \
         AND ($7::text IS NULL OR node = $7) \
         ORDER BY created_at DESC, id DESC \
         LIMIT $8::bigint"
    );
    let f = filter;
    let user = f.user.as_ref().map(UserName::as_str);
    let states = f.states.as_deref().map(job_state_names);
    let name = f.name_contains.as_deref().map(contains_pattern);
    let limit = f.limit.map(i64::from);
    let params: Params<'_> = &[
        &user,
        &states,
        &name,
        &millis(f.created_after),
        &millis(f.created_before),
        &millis(f.ended_before),
        &f.node,
        &limit,
    ];
    store.query("list_jobs", sql, params, rows::job).await
}

/// The compare-and-set update: one `UPDATE ... WHERE state = ANY(...)
/// RETURNING`. Under READ COMMITTED a concurrent writer's update makes this
/// one re-check the state on the new row, so only one of them wins.
pub(super) async fn update(
    store: &PgStore,
    id: &JobId,
    from: &[JobState],
    change: &JobChange,
) -> Result<Option<Job>> {
    let sql = concat!(
        "UPDATE jobs SET state = COALESCE($3, state), node = COALESCE($4, node), \
         started_at = COALESCE($5, started_at), ended_at = COALESCE($6, ended_at), \
         exit_code = COALESCE($7, exit_code), error = COALESCE($8, error), \
         handle = COALESCE($9, handle) \
         WHERE id = $1 AND state = ANY($2) RETURNING ",
        job_columns!()
    );
    let c = change;
    let params: Params<'_> = &[
        &id.as_str(),
        &job_state_names(from),
        &c.state.map(JobState::as_str),
        &c.node,
        &millis(c.started_at),
        &millis(c.ended_at),
        &c.exit_code,
        &c.error,
        &c.handle,
    ];
    store.query_opt("update_job", sql, params, rows::job).await
}

/// Deletes job `id` if its state is in `from`.
pub(super) async fn delete(store: &PgStore, id: &JobId, from: &[JobState]) -> Result<bool> {
    let sql = "DELETE FROM jobs WHERE id = $1 AND state = ANY($2)";
    let params: Params<'_> = &[&id.as_str(), &job_state_names(from)];
    Ok(store.execute("delete_job", sql, params).await? > 0)
}
