//! The wide session statements of the PostgreSQL store: the insert of all
//! eighteen columns, the filtered list and the compare-and-set update.

use atelier_core::{Session, SessionId, SessionState, UserName};

use super::{millis, Key, Params, PgStore};
use crate::rows::{self, session_columns};
use crate::{state_names, Result, SessionChange, SessionFilter};

/// Stores a new session, every column included.
pub(super) async fn insert(store: &PgStore, session: &Session) -> Result<()> {
    let sql = concat!(
        "INSERT INTO sessions (",
        session_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
    );
    let s = session;
    let key = Key {
        table: "sessions",
        key: format!("session {}", s.id),
        user: s.user.to_string(),
    };
    let params: Params<'_> = &[
        &s.id.as_str(),
        &s.user.as_str(),
        &s.kind.as_str(),
        &s.name,
        &s.state.as_str(),
        &s.node,
        &s.cluster,
        &s.python,
        &s.r,
        &s.profile,
        &s.created_at.as_millis(),
        &millis(s.started_at),
        &millis(s.last_active_at),
        &millis(s.ended_at),
        &s.error,
        &s.exit_code,
        &s.secret,
        &s.handle,
    ];
    store.insert("insert_session", sql, params, key).await
}

/// The sessions matching `filter`, newest created first.
pub(super) async fn list(store: &PgStore, filter: &SessionFilter) -> Result<Vec<Session>> {
    let sql = concat!(
        "SELECT ",
        session_columns!(),
        " FROM sessions \
         WHERE ($1::text IS NULL OR user_name = $1) \
         AND ($2::text[] IS NULL OR state = ANY($2)) \
         AND ($3::text IS NULL OR node = $3) \
         ORDER BY created_at DESC, id DESC"
    );
    let user = filter.user.as_ref().map(UserName::as_str);
    let states = filter.states.as_deref().map(state_names);
    let params: Params<'_> = &[&user, &states, &filter.node];
    store
        .query("list_sessions", sql, params, rows::session)
        .await
}

/// The compare-and-set update: one `UPDATE ... WHERE state = ANY(...)
/// RETURNING`. Under READ COMMITTED a concurrent writer's update makes this
/// one re-check the state on the new row, so only one of them wins.
pub(super) async fn update(
    store: &PgStore,
    id: &SessionId,
    from: &[SessionState],
    change: &SessionChange,
) -> Result<Option<Session>> {
    let sql = concat!(
        "UPDATE sessions SET state = COALESCE($3, state), node = COALESCE($4, node), \
         started_at = COALESCE($5, started_at), ended_at = COALESCE($6, ended_at), \
         error = COALESCE($7, error), exit_code = COALESCE($8, exit_code), \
         handle = COALESCE($9, handle), last_active_at = COALESCE($10, last_active_at) \
         WHERE id = $1 AND state = ANY($2) RETURNING ",
        session_columns!()
    );
    let c = change;
    let params: Params<'_> = &[
        &id.as_str(),
        &state_names(from),
        &c.state.map(SessionState::as_str),
        &c.node,
        &millis(c.started_at),
        &millis(c.ended_at),
        &c.error,
        &c.exit_code,
        &c.handle,
        &millis(c.last_active_at),
    ];
    store
        .query_opt("update_session", sql, params, rows::session)
        .await
}
