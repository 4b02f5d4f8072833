//! Quiet logging of a store outage seen by the background watchers: one
//! warning when reads start failing, one line when they work again, and
//! nothing above debug level in between, so a database that is down for an
//! hour does not fill the log with the same line every tick.

use std::sync::atomic::{AtomicBool, Ordering};

use atelier_store::StoreError;
use tracing::{debug, info, warn};

/// Whether the store was failing for one periodic reader, e.g. "sessions".
#[derive(Debug, Default)]
pub(crate) struct OutageLog {
    failing: AtomicBool,
}

impl OutageLog {
    /// Records a failed read of `what`; warns only on the first of a run.
    pub(crate) fn failed(&self, what: &str, error: &StoreError) {
        let chain = atelier_core::error_chain(error);
        if self.failing.swap(true, Ordering::Relaxed) {
            debug!(error = %chain, "watcher could still not list {what}");
        } else {
            warn!(error = %chain, "watcher could not list {what}; retrying quietly until the store answers");
        }
    }

    /// Records a successful read of `what`; says so once after failures.
    pub(crate) fn succeeded(&self, what: &str) {
        if self.failing.swap(false, Ordering::Relaxed) {
            info!("watcher can list {what} again");
        }
    }
}
