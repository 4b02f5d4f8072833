//! Atelier's domain model, free of IO: identifiers, users and roles, session
//! kinds, session records and the state machine that every backend follows.
//!
//! Everything here is plain data plus the rules about it, so it can be tested
//! in microseconds and shared by the store, the launcher and the web layer.

mod error;
mod expiring;
mod id;
mod job;
mod session;
mod time;
mod user;

pub use error::{error_chain, InvalidInput};
pub use expiring::ExpiringMap;
pub use id::SessionId;
pub use job::{Job, JobId, JobState, NewJob};
pub use session::{NewSession, Session, SessionKind, SessionState};
pub use time::Timestamp;
pub use user::{Role, User, UserName};
