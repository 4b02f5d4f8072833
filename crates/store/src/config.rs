//! Where the store lives, and how to show that without leaking a password.

use std::fmt;
use std::path::PathBuf;

/// Where the store lives.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// An SQLite database file on this machine; its folder must exist.
    Sqlite {
        /// The database file, created with mode 0600 if absent.
        path: PathBuf,
    },
    /// A PostgreSQL database shared by every server node.
    Postgres {
        /// A libpq-style URL (`postgres://user:password@host:port/db`) or
        /// key-value string (`host=... dbname=...`).
        url: String,
    },
}

impl StoreConfig {
    /// The backend's name, for logs and metrics: `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            StoreConfig::Sqlite { .. } => "sqlite",
            StoreConfig::Postgres { .. } => "postgres",
        }
    }
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreConfig::Sqlite { path } => f.debug_struct("Sqlite").field("path", path).finish(),
            StoreConfig::Postgres { url } => f
                .debug_struct("Postgres")
                .field("url", &redact_url(url))
                .finish(),
        }
    }
}

/// `url` with any password replaced by `***`, in both the URL form
/// (`user:secret@host`, `?password=secret`) and the key-value form
/// (`password=secret`).
pub(crate) fn redact_url(url: &str) -> String {
    let mut text = url.to_owned();
    if let Some(scheme_end) = text.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = text[rest_start..]
            .find(['/', '?'])
            .map_or(text.len(), |i| rest_start + i);
        if let Some(at) = text[rest_start..authority_end].rfind('@') {
            let userinfo = rest_start..rest_start + at;
            if let Some(colon) = text[userinfo.clone()].find(':') {
                text.replace_range(userinfo.start + colon + 1..userinfo.end, "***");
            }
        }
    }
    redact_password_params(&text)
}

/// Replaces the value after every `password=` with `***`.
fn redact_password_params(text: &str) -> String {
    const KEY: &str = "password=";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(KEY) {
        out.push_str(&rest[..i + KEY.len()]);
        out.push_str("***");
        rest = &rest[i + KEY.len()..];
        let value_end = rest.find(['&', ' ']).unwrap_or(rest.len());
        rest = &rest[value_end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_debug_output() {
        let cases = [
            (
                "postgres://bob:s3cret@db:5432/atelier",
                "postgres://bob:***@db:5432/atelier",
            ),
            (
                "postgres://bob@db/atelier?password=s3cret&x=1",
                "postgres://bob@db/atelier?password=***&x=1",
            ),
            (
                "host=db password=s3cret dbname=a",
                "host=db password=*** dbname=a",
            ),
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "postgres://postgres@127.0.0.1:5432/postgres",
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(redact_url(url), expected);
            let config = StoreConfig::Postgres {
                url: url.to_owned(),
            };
            assert!(!format!("{config:?}").contains("s3cret"));
        }
    }
}
