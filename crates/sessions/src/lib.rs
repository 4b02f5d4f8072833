//! The session service. It is the only place that changes a session's
//! state: it validates a request against the [`Catalog`], records the
//! session in the store *before* acting, drives the launcher backend, and a
//! watcher moves each session through its states as the backend reports.
//!
//! Invariant: every transition goes through `Store::update_session` with the
//! states it may come from (compare-and-set), so two tasks or two nodes can
//! never both move the same session, and nothing is reported that is not
//! already stored.

mod catalog;
mod error;
mod ides;
mod jobs;
pub mod languages;
mod lifetime;
mod manager;
mod outage;
mod placement;
mod plan;
mod profiles;
mod remote_routes;
mod watcher;

pub use catalog::{Catalog, KindInfo, Route};
pub use error::SessionError;
pub use lifetime::LifetimeRules;
pub use manager::{ManagerSettings, RunAs, SessionEvent, SessionManager};
pub use profiles::{Profile, Profiles};
