//! The one error type of the domain: a value that breaks a rule.

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
