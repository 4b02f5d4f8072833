//! Users and roles. An Atelier user name is also a Linux account name when the
//! server runs as root, so names follow the portable account-name rules.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::InvalidInput;

/// A validated user name: 1–32 characters, lowercase letters, digits, `_`,
/// `-` and `.`, starting with a letter or `_`. These are the names `useradd`
/// accepts by default, so they are safe as paths and process arguments.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "alice")]
pub struct UserName(String);

impl UserName {
    /// Parses and validates a user name.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let mut bytes = text.bytes();
        let first_ok = matches!(bytes.next(), Some(b'a'..=b'z' | b'_'));
        let rest_ok = bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.'));
        if first_ok && rest_ok && text.len() <= 32 {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidInput::new(
                "username",
                "a user name is 1-32 characters of a-z, 0-9, '_', '-', '.', starting with a letter or '_'",
            ))
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UserName {
    type Error = InvalidInput;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<UserName> for String {
    fn from(name: UserName) -> Self {
        name.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserName({})", self.0)
    }
}

/// What a user may do. Admins see and stop every session.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An ordinary user: sees and controls only their own sessions.
    User,
    /// An administrator: also sees and stops everyone's sessions.
    Admin,
}

impl Role {
    /// The role as stored and shown: `user` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    /// Parses `user` or `admin`.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        match text {
            "user" => Ok(Role::User),
            "admin" => Ok(Role::Admin),
            _ => Err(InvalidInput::new("role", "a role is 'user' or 'admin'")),
        }
    }
}

/// A person known to Atelier.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    /// The login name (and Linux account name when running as root).
    pub name: UserName,
    /// The user's role.
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_account_names() {
        for good in ["alice", "_svc", "bob-2", "j.doe", "a"] {
            assert!(UserName::parse(good).is_ok(), "{good:?} was rejected");
        }
    }

    #[test]
    fn rejects_names_that_could_be_paths_or_options() {
        for bad in [
            "",
            "Alice",
            "-rf",
            "../x",
            "a/b",
            "a b",
            "1abc",
            "é",
            &"a".repeat(33),
        ] {
            assert!(UserName::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
