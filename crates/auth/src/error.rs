//! The one error type of the crate. Variants carry the path, line, user or
//! PAM service involved; none ever carries a password, hash or token.

use std::path::PathBuf;

use atelier_core::UserName;

/// Everything that can go wrong while finding out who is asking.
///
/// A wrong password is *not* an error: the functions that check credentials
/// answer `false` or `None` for it. An `AuthError` means the setup is broken
/// (unreadable or insecure users file, misconfigured PAM) or a request was
/// refused for a reason worth showing (a password that is too weak).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Reading or writing the users file (or its temporary file) failed.
    #[error("users file {path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The users file can be read or written by group or others.
    #[error(
        "users file {path} has mode {mode:04o}, which lets other accounts read password hashes; \
         run `chmod 600 {path}`"
    )]
    InsecureMode {
        /// The file involved.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },

    /// A line of the users file is not `name:role:$argon2id$...`.
    #[error("users file {path}, line {line}: {reason}")]
    Malformed {
        /// The file involved.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong with the line.
        reason: String,
    },

    /// A new password does not meet the minimum rules.
    #[error("password for {user} rejected: {reason}")]
    WeakPassword {
        /// The user whose password was being set.
        user: UserName,
        /// What is wrong, e.g. "it is shorter than 8 characters".
        reason: &'static str,
    },

    /// The argon2 implementation refused to hash (should not happen with the
    /// default parameters).
    #[error("password hashing failed: {0}")]
    Hash(String),

    /// PAM itself failed, as opposed to refusing the credentials: missing
    /// library modules, a broken service file, an unreachable directory.
    #[error("PAM service {service:?}: {step} failed with code {code}: {message}")]
    Pam {
        /// The PAM service name, e.g. `atelier`.
        service: String,
        /// The PAM call that failed, e.g. `pam_authenticate`.
        step: &'static str,
        /// The PAM return code.
        code: i32,
        /// PAM's description of the code.
        message: String,
    },

    /// A blocking authentication task panicked or was cancelled.
    #[error("authentication task for {user} did not complete: {source}")]
    Task {
        /// The user being authenticated.
        user: UserName,
        /// The join error.
        #[source]
        source: tokio::task::JoinError,
    },
}
