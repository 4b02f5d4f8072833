//! The domain's error type, a value that breaks a rule, and how any error
//! is written to the log with its causes.

/// A value that does not satisfy a domain rule. The message names the field
/// and says what is allowed, so it can be shown to the user as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidInput {
    /// The field or argument that was rejected, e.g. `name`.
    pub field: &'static str,
    /// What is wrong and what would be accepted.
    pub message: String,
}

impl InvalidInput {
    /// Creates an error for `field` with a human-readable `message`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// `error` and every cause under it, joined with ": ", for the server log.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        let line = next.to_string();
        if !text.ends_with(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        cause = next.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("SQLite failed in insert_session")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn the_chain_names_every_cause_once() {
        let io = std::io::Error::other("database or disk is full");
        assert_eq!(
            error_chain(&Outer(io)),
            "SQLite failed in insert_session: database or disk is full"
        );
        let plain = InvalidInput::new("name", "too long");
        assert_eq!(error_chain(&plain), "name: too long");
    }
}
