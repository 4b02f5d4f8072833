//! The operating-system edge: Linux accounts, processes, signals, privilege
//! drop, cgroups.
//!
//! This is the only crate of Atelier that makes raw `libc` calls. Every other
//! crate reaches the kernel through the safe functions here, so the unsafe
//! surface stays in a few small, reviewed modules (`account`, `cgroup`,
//! `signal`, `spawn`), each block with a `SAFETY:` comment.

pub mod account;
pub mod cgroup;
mod error;
pub mod fs;
pub mod process;
pub mod signal;
pub mod spawn;

pub use account::{is_root, Account};
pub use error::OsError;
pub use process::ProcessInfo;
pub use signal::Signal;
