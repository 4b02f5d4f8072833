//! The two account inserts of the PostgreSQL store, which name the row in
//! a conflict without showing a hash in full.

use super::{millis, Key, Params, PgStore};
use crate::error::short;
use crate::rows;
use crate::{ApiToken, Login, Result};

/// Stores a new API token.
pub(super) async fn insert_api_token(store: &PgStore, token: &ApiToken) -> Result<()> {
    let sql = concat!(
        "INSERT INTO api_tokens (",
        rows::token_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6)"
    );
    let t = token;
    let key = Key {
        table: "api_tokens",
        key: format!("token {}", t.id),
        user: t.user.to_string(),
    };
    let params: Params<'_> = &[
        &t.id,
        &t.user.as_str(),
        &t.hash,
        &t.label,
        &t.created_at.as_millis(),
        &millis(t.last_used_at),
    ];
    store.insert("insert_api_token", sql, params, key).await
}

/// Stores a new browser login.
pub(super) async fn insert_login(store: &PgStore, login: &Login) -> Result<()> {
    let sql = concat!(
        "INSERT INTO logins (",
        rows::login_columns!(),
        ") VALUES ($1, $2, $3, $4)"
    );
    let l = login;
    let key = Key {
        table: "logins",
        key: format!("login {}", short(&l.hash)),
        user: l.user.to_string(),
    };
    let params: Params<'_> = &[
        &l.hash,
        &l.user.as_str(),
        &l.created_at.as_millis(),
        &l.expires_at.as_millis(),
    ];
    store.insert("insert_login", sql, params, key).await
}
