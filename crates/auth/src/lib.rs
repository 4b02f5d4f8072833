//! Who is asking: users file, PAM, API tokens, signed cookies, CSRF, login
//! rate limits.
//!
//! A pure library: the web layer decides what to do with the answers.
//!
//! * [`Provider`] checks a login against the [`UsersFile`] or [`pam`].
//! * [`password`] hashes passwords with argon2id.
//! * [`tokens`] makes API tokens, signs cookies and binds CSRF tokens.
//! * [`LoginLimiter`] locks out user names and addresses after repeated
//!   failures.
//!
//! Nothing here logs a password, hash, token or cookie.

mod error;
pub mod pam;
pub mod password;
mod provider;
pub mod rate_limit;
pub mod tokens;
pub mod users_file;

pub use error::AuthError;
pub use password::{hash_password, verify_password};
pub use provider::Provider;
pub use rate_limit::{LimitSettings, LoginLimiter};
pub use tokens::{hash_token, new_api_token, random_secret, CookieSigner};
pub use users_file::UsersFile;
