//! Configuration errors that point at the offending line.

use std::fmt;

/// A configuration that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or other origin) the text came from.
    pub origin: String,
    /// 1-based line of the offending value, when known.
    pub line: Option<usize>,
    /// 1-based column of the offending value, when known.
    pub column: Option<usize>,
    /// What is wrong, in words an administrator can act on.
    pub message: String,
}

impl ConfigError {
    /// Converts a TOML parse error, locating its span in `text`.
    pub(crate) fn from_toml(origin: &str, text: &str, error: &toml::de::Error) -> Self {
        let (line, column) = match error.span() {
            Some(span) => {
                let (line, column) = line_and_column(text, span.start);
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        Self {
            origin: origin.to_owned(),
            line,
            column,
            message: describe(error.message()),
        }
    }

    /// An error about the whole file or a relation between keys.
    pub(crate) fn general(origin: &str, message: impl Into<String>) -> Self {
        Self {
            origin: origin.to_owned(),
            line: None,
            column: None,
            message: message.into(),
        }
    }
}

/// The parser's message, or a plain one where it gives none (for example a
/// key with no value at the end of the file).
fn describe(message: &str) -> String {
    if message.trim().is_empty() {
        "a value is missing or malformed here".to_owned()
    } else {
        message.to_owned()
    }
}

fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |rest| rest.chars().count())
        + 1;
    (line, column)
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "{}:{line}:{column}: {}", self.origin, self.message)
            }
            _ => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}
