//! Reading rows back into domain values, shared by both backends.
//!
//! Each backend exposes its row type through [`RawRow`] (text and integer
//! cells by index); the decoders here turn cells into `Session`, `User`,
//! `ApiToken`, `Login`, `AuditEvent` and (in `rows/jobs.rs`) `Job`, and report any cell that does not
//! parse as [`StoreError::CorruptRow`] naming the table, row id and column.

use atelier_core::{
    InvalidInput, Role, Session, SessionId, SessionKind, SessionState, Timestamp, User, UserName,
};

use crate::error::short;
use crate::{ApiToken, AuditEvent, Login, Result, StoreError};

/// The columns of `users`, in the order [`user`] reads them.
macro_rules! user_columns {
    () => {
        "name, role"
    };
}
const USER_NAMES: [&str; 2] = ["name", "role"];

/// The columns of `api_tokens`, in the order [`api_token`] reads them.
macro_rules! token_columns {
    () => {
        "id, user_name, hash, label, created_at, last_used_at"
    };
}
const TOKEN_NAMES: [&str; 6] = [
    "id",
    "user_name",
    "hash",
    "label",
    "created_at",
    "last_used_at",
];

/// The columns of `logins` that [`login`] reads, in its order.
macro_rules! login_columns {
    () => {
        "hash, user_name, created_at, expires_at"
    };
}
const LOGIN_NAMES: [&str; 4] = ["hash", "user_name", "created_at", "expires_at"];

/// The columns of `audit`, in the order [`audit_event`] reads them.
macro_rules! audit_columns {
    () => {
        "id, at, user_name, action, target, detail"
    };
}
const AUDIT_NAMES: [&str; 6] = ["id", "at", "user_name", "action", "target", "detail"];

/// The columns of `sessions`, in the order [`session`] reads them.
macro_rules! session_columns {
    () => {
        "id, user_name, kind, name, state, node, cluster, python, r, profile, created_at, \
         started_at, last_active_at, ended_at, error, exit_code, secret, handle"
    };
}
const SESSION_NAMES: [&str; 18] = [
    "id",
    "user_name",
    "kind",
    "name",
    "state",
    "node",
    "cluster",
    "python",
    "r",
    "profile",
    "created_at",
    "started_at",
    "last_active_at",
    "ended_at",
    "error",
    "exit_code",
    "secret",
    "handle",
];

mod jobs;

pub(crate) use jobs::{command_json, contains_pattern, env_json, job, job_columns};
pub(crate) use {audit_columns, login_columns, session_columns, token_columns, user_columns};

/// A result row of either backend, read cell by cell. Errors are messages
/// for [`StoreError::CorruptRow`].
pub(crate) trait RawRow {
    /// The text cell at `idx`; None for NULL.
    fn text(&self, idx: usize) -> std::result::Result<Option<String>, String>;
    /// The integer cell at `idx`; None for NULL.
    fn int(&self, idx: usize) -> std::result::Result<Option<i64>, String>;
}

/// One row being decoded, with what is needed to name a bad cell.
struct Cells<'r> {
    row: &'r dyn RawRow,
    table: &'static str,
    names: &'static [&'static str],
    id: String,
}

impl<'r> Cells<'r> {
    /// Starts decoding; the row's id is read from `id_idx` (shortened when
    /// it is a hash).
    fn new(
        row: &'r dyn RawRow,
        table: &'static str,
        names: &'static [&'static str],
        id_idx: usize,
    ) -> Self {
        let id = match (row.text(id_idx), row.int(id_idx)) {
            (Ok(Some(text)), _) if table == "logins" => short(&text),
            (Ok(Some(text)), _) => text,
            (_, Ok(Some(number))) => number.to_string(),
            _ => "<unreadable id>".to_owned(),
        };
        Self {
            row,
            table,
            names,
            id,
        }
    }

    fn corrupt(&self, idx: usize, message: impl Into<String>) -> StoreError {
        StoreError::CorruptRow {
            table: self.table,
            id: self.id.clone(),
            column: self.names.get(idx).copied().unwrap_or("?"),
            message: message.into(),
        }
    }

    fn opt_text(&self, idx: usize) -> Result<Option<String>> {
        self.row
            .text(idx)
            .map_err(|message| self.corrupt(idx, message))
    }

    fn text(&self, idx: usize) -> Result<String> {
        self.opt_text(idx)?
            .ok_or_else(|| self.corrupt(idx, "is NULL"))
    }

    fn opt_int(&self, idx: usize) -> Result<Option<i64>> {
        self.row
            .int(idx)
            .map_err(|message| self.corrupt(idx, message))
    }

    fn opt_time(&self, idx: usize) -> Result<Option<Timestamp>> {
        Ok(self.opt_int(idx)?.map(Timestamp::from_millis))
    }

    fn time(&self, idx: usize) -> Result<Timestamp> {
        self.opt_time(idx)?
            .ok_or_else(|| self.corrupt(idx, "is NULL"))
    }

    fn parse<T>(
        &self,
        idx: usize,
        parse: fn(&str) -> std::result::Result<T, InvalidInput>,
    ) -> Result<T> {
        let text = self.text(idx)?;
        parse(&text).map_err(|err| self.corrupt(idx, err.to_string()))
    }

    fn opt_parse<T>(
        &self,
        idx: usize,
        parse: fn(&str) -> std::result::Result<T, InvalidInput>,
    ) -> Result<Option<T>> {
        match self.opt_text(idx)? {
            Some(text) => parse(&text)
                .map(Some)
                .map_err(|err| self.corrupt(idx, err.to_string())),
            None => Ok(None),
        }
    }
}

/// A row of `user_columns!()`.
pub(crate) fn user(row: &dyn RawRow) -> Result<User> {
    let cells = Cells::new(row, "users", &USER_NAMES, 0);
    Ok(User {
        name: cells.parse(0, UserName::parse)?,
        role: cells.parse(1, Role::parse)?,
    })
}

/// A row of `token_columns!()`.
pub(crate) fn api_token(row: &dyn RawRow) -> Result<ApiToken> {
    let cells = Cells::new(row, "api_tokens", &TOKEN_NAMES, 0);
    Ok(ApiToken {
        id: cells.text(0)?,
        user: cells.parse(1, UserName::parse)?,
        hash: cells.text(2)?,
        label: cells.text(3)?,
        created_at: cells.time(4)?,
        last_used_at: cells.opt_time(5)?,
    })
}

/// A row of `login_columns!()`.
pub(crate) fn login(row: &dyn RawRow) -> Result<Login> {
    let cells = Cells::new(row, "logins", &LOGIN_NAMES, 0);
    Ok(Login {
        hash: cells.text(0)?,
        user: cells.parse(1, UserName::parse)?,
        created_at: cells.time(2)?,
        expires_at: cells.time(3)?,
    })
}

/// A row of `audit_columns!()`.
pub(crate) fn audit_event(row: &dyn RawRow) -> Result<AuditEvent> {
    let cells = Cells::new(row, "audit", &AUDIT_NAMES, 0);
    Ok(AuditEvent {
        at: cells.time(1)?,
        user: cells.opt_parse(2, UserName::parse)?,
        action: cells.text(3)?,
        target: cells.opt_text(4)?,
        detail: cells.opt_text(5)?,
    })
}

/// A row of `session_columns!()`.
pub(crate) fn session(row: &dyn RawRow) -> Result<Session> {
    let cells = Cells::new(row, "sessions", &SESSION_NAMES, 0);
    let exit_code = match cells.opt_int(15)? {
        Some(code) => Some(i32::try_from(code).map_err(|_| cells.corrupt(15, "out of range"))?),
        None => None,
    };
    Ok(Session {
        id: cells.parse(0, SessionId::parse)?,
        user: cells.parse(1, UserName::parse)?,
        kind: cells.parse(2, SessionKind::parse)?,
        name: cells.text(3)?,
        state: cells.parse(4, SessionState::parse)?,
        node: cells.opt_text(5)?,
        cluster: cells.text(6)?,
        python: cells.opt_text(7)?,
        r: cells.opt_text(8)?,
        profile: cells.opt_text(9)?,
        created_at: cells.time(10)?,
        started_at: cells.opt_time(11)?,
        last_active_at: cells.opt_time(12)?,
        ended_at: cells.opt_time(13)?,
        error: cells.opt_text(14)?,
        exit_code,
        secret: cells.text(16)?,
        handle: cells.opt_text(17)?,
    })
}

/// The value of a `key, value` row of `settings`.
pub(crate) fn setting_value(row: &dyn RawRow) -> Result<String> {
    const NAMES: [&str; 2] = ["key", "value"];
    Cells::new(row, "settings", &NAMES, 0).text(1)
}

/// One (state, count) row of `SELECT state, COUNT(*) ... GROUP BY state`.
pub(crate) fn state_count(row: &dyn RawRow) -> Result<(SessionState, u64)> {
    const NAMES: [&str; 2] = ["state", "count"];
    let cells = Cells {
        row,
        table: "sessions",
        names: &NAMES,
        id: "*".to_owned(),
    };
    let state = cells.parse(0, SessionState::parse)?;
    let count = cells.opt_int(1)?.unwrap_or(0);
    Ok((state, u64::try_from(count).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_lists_match_their_names() {
        assert_eq!(user_columns!(), USER_NAMES.join(", "));
        assert_eq!(token_columns!(), TOKEN_NAMES.join(", "));
        assert_eq!(login_columns!(), LOGIN_NAMES.join(", "));
        assert_eq!(audit_columns!(), AUDIT_NAMES.join(", "));
        assert_eq!(session_columns!(), SESSION_NAMES.join(", "));
    }
}
