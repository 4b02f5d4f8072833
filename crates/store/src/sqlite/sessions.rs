//! The session statements of the SQLite store that take more than a line:
//! the insert of all eighteen columns, the filtered list, the
//! compare-and-set update and the conditional delete. States are passed as
//! a JSON array and matched with `json_each`, so every statement is fixed
//! text whatever the number of states.

use atelier_core::{Session, SessionId, SessionState, UserName};
use rusqlite::params;

use super::{millis, states_json, Key, SqliteStore};
use crate::rows::{self, session_columns};
use crate::{Result, SessionChange, SessionFilter};

/// Stores a new session, every column included.
pub(super) async fn insert(store: &SqliteStore, session: &Session) -> Result<()> {
    let op = "insert_session";
    let sql = concat!(
        "INSERT INTO sessions (",
        session_columns!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
    );
    let s = session.clone();
    let key = Key {
        table: "sessions",
        key: format!("session {}", s.id),
        user: s.user.to_string(),
    };
    store
        .call(op, move |conn| {
            let result = conn.prepare_cached(sql).and_then(|mut stmt| {
                stmt.execute(params![
                    s.id.as_str(),
                    s.user.as_str(),
                    s.kind.as_str(),
                    s.name,
                    s.state.as_str(),
                    s.node,
                    s.cluster,
                    s.python,
                    s.r,
                    s.profile,
                    s.created_at.as_millis(),
                    millis(s.started_at),
                    millis(s.last_active_at),
                    millis(s.ended_at),
                    s.error,
                    s.exit_code,
                    s.secret,
                    s.handle,
                ])
            });
            result.map(drop).map_err(|err| key.classify(op, err))
        })
        .await
}

/// The sessions matching `filter`, newest created first.
pub(super) async fn list(store: &SqliteStore, filter: &SessionFilter) -> Result<Vec<Session>> {
    let sql = concat!(
        "SELECT ",
        session_columns!(),
        " FROM sessions \
         WHERE (?1 IS NULL OR user_name = ?1) \
         AND (?2 IS NULL OR state IN (SELECT value FROM json_each(?2))) \
         AND (?3 IS NULL OR node = ?3) \
         ORDER BY created_at DESC, id DESC"
    );
    let user = filter.user.as_ref().map(UserName::to_string);
    let states = filter.states.as_deref().map(states_json);
    let params = (user, states, filter.node.clone());
    store
        .query("list_sessions", sql, params, rows::session)
        .await
}

/// Deletes session `id` if its state is in `from`.
pub(super) async fn delete(
    store: &SqliteStore,
    id: &SessionId,
    from: &[SessionState],
) -> Result<bool> {
    let sql = "DELETE FROM sessions WHERE id = ?1 AND state IN (SELECT value FROM json_each(?2))";
    let params = (id.to_string(), states_json(from));
    Ok(store.execute("delete_session", sql, params).await? > 0)
}

/// The compare-and-set update: one `UPDATE ... WHERE state IN (...)
/// RETURNING`, so a concurrent writer either sees the old row or the new.
pub(super) async fn update(
    store: &SqliteStore,
    id: &SessionId,
    from: &[SessionState],
    change: &SessionChange,
) -> Result<Option<Session>> {
    let sql = concat!(
        "UPDATE sessions SET state = coalesce(?3, state), node = coalesce(?4, node), \
         started_at = coalesce(?5, started_at), ended_at = coalesce(?6, ended_at), \
         error = coalesce(?7, error), exit_code = coalesce(?8, exit_code), \
         handle = coalesce(?9, handle), last_active_at = coalesce(?10, last_active_at) \
         WHERE id = ?1 AND state IN (SELECT value FROM json_each(?2)) RETURNING ",
        session_columns!()
    );
    let c = change.clone();
    let params = (
        id.to_string(),
        states_json(from),
        c.state.map(SessionState::as_str),
        c.node,
        millis(c.started_at),
        millis(c.ended_at),
        c.error,
        c.exit_code,
        c.handle,
        millis(c.last_active_at),
    );
    store
        .query_opt("update_session", sql, params, rows::session)
        .await
}
