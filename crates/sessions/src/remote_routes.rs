//! A short-lived memory of routes to sessions hosted by other nodes, so
//! that a node proxying for a session it does not host reads the store at
//! most once a second per session instead of on every request.
//!
//! Only running sessions are remembered. A session that stops on its own
//! node is still routed here for at most [`MAX_AGE`]; its endpoint (a gate
//! that closed, a socket that is gone) then answers 502. Any state change
//! this node makes drops the entry at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use atelier_core::{ExpiringMap, SessionId};

use crate::Route;

/// Longest time a remote route is used without reading the store again.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(1);
/// Most routes kept.
const MAX_ENTRIES: usize = 10_000;

/// Session id → its route as last read from the store.
pub(crate) struct RemoteRoutes {
    entries: ExpiringMap<SessionId, Arc<Route>>,
}

impl Default for RemoteRoutes {
    fn default() -> Self {
        Self {
            entries: ExpiringMap::new(MAX_ENTRIES),
        }
    }
}

impl RemoteRoutes {
    /// The route to `id` if it was read less than [`MAX_AGE`] ago.
    pub(crate) fn get(&self, id: &SessionId) -> Option<Arc<Route>> {
        self.entries.get(id)
    }

    /// Remembers `route`, just read from the store.
    pub(crate) fn put(&self, id: &SessionId, route: Arc<Route>) {
        self.entries
            .insert(id.clone(), route, Instant::now() + MAX_AGE);
    }

    /// Drops what is remembered of `id`.
    pub(crate) fn forget(&self, id: &SessionId) {
        self.entries.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atelier_core::SessionState;

    fn route(id: &SessionId) -> Arc<Route> {
        let mut session = crate::ides::tests::session("jupyterlab");
        session.id = id.clone();
        session.state = SessionState::Running;
        Arc::new(Route {
            session,
            strip_prefix: false,
        })
    }

    #[test]
    fn a_route_is_kept_until_it_is_a_second_old() {
        let routes = RemoteRoutes::default();
        let id = SessionId::generate();
        assert!(routes.get(&id).is_none());
        routes.put(&id, route(&id));
        assert!(routes.get(&id).is_some());
        routes
            .entries
            .insert(id.clone(), route(&id), Instant::now());
        assert!(routes.get(&id).is_none(), "an old route was used");
    }

    #[test]
    fn forget_drops_the_route_at_once() {
        let routes = RemoteRoutes::default();
        let id = SessionId::generate();
        routes.put(&id, route(&id));
        routes.forget(&id);
        assert!(routes.get(&id).is_none());
    }

    #[test]
    fn the_memory_stays_bounded() {
        let routes = RemoteRoutes::default();
        for _ in 0..MAX_ENTRIES + 5 {
            let id = SessionId::generate();
            routes.put(&id, route(&id));
        }
        assert!(routes.entries.len() <= MAX_ENTRIES);
    }
}
