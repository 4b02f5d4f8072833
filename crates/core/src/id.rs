//! Unguessable identifiers. A session id is 128 random bits written as 32
//! lowercase hex digits; it appears in URLs (`/s/{id}/`), so it must not be
//! enumerable, and it is parsed strictly so that path tricks never reach a
//! lookup.

use std::fmt;

use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::InvalidInput;

const ID_LEN: usize = 32;

/// Identifier of an IDE session: 128 random bits as 32 lowercase hex digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "3f0c9a1e5b7d4c2a8e6f1b3d5a7c9e0f")]
pub struct SessionId(String);

impl SessionId {
    /// A fresh random id from the operating system's generator.
    pub fn generate() -> Self {
        let mut bytes = [0u8; ID_LEN / 2];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Parses an id, accepting only exactly 32 lowercase hex digits.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let valid = text.len() == ID_LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidInput::new(
                "id",
                "a session id is 32 lowercase hex digits",
            ))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SessionId {
    type Error = InvalidInput;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<SessionId> for String {
    fn from(id: SessionId) -> Self {
        id.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_and_differ() {
        let a = SessionId::generate();
        let b = SessionId::generate();
        assert_ne!(a, b);
        assert_eq!(SessionId::parse(a.as_str()).unwrap(), a);
    }

    #[test]
    fn parse_rejects_anything_but_32_lowercase_hex() {
        for bad in [
            "",
            "abc",
            &"A".repeat(32),
            &"g".repeat(32),
            &"0".repeat(33),
            "../../etc/passwd",
        ] {
            assert!(SessionId::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
