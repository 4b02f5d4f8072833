//! A short-lived memory of recognised credentials, so that the proxy does
//! not read the store on every request a browser or script makes.
//!
//! An entry is trusted for at most [`MAX_AGE`], never past the login's own
//! expiry, and only while the store's
//! [`credentials_epoch`](atelier_store::Store::credentials_epoch) is the one
//! noted before the store was asked: a logout, a revoked token or a changed
//! role in this process drops every entry at once. A change made by another
//! process (another node of a cluster, the CLI) is seen within `MAX_AGE`.
//! Unknown credentials are never remembered: each one is asked about again.

use std::time::{Duration, Instant};

use atelier_core::{ExpiringMap, User};

/// Longest time a credential is believed without asking the store again.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(5);
/// Most entries kept of each kind.
const MAX_ENTRIES: usize = 10_000;

/// Which kind of credential a hash belongs to (a token and a login could
/// never share a hash, but the two are kept apart all the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Bearer,
    Cookie,
}

/// Credential hash → the user it proved and the store's epoch then, for a
/// short while. Starts empty.
pub struct CallerCache {
    bearer: ExpiringMap<String, (User, u64)>,
    cookie: ExpiringMap<String, (User, u64)>,
}

impl Default for CallerCache {
    fn default() -> Self {
        Self {
            bearer: ExpiringMap::new(MAX_ENTRIES),
            cookie: ExpiringMap::new(MAX_ENTRIES),
        }
    }
}

impl CallerCache {
    /// The user behind `hash`, if it was recognised recently under `epoch`.
    pub(crate) fn get(&self, kind: Kind, hash: &str, epoch: u64) -> Option<User> {
        let (user, _) = self.map(kind).get_if(hash, |(_, seen)| *seen == epoch)?;
        Some(user)
    }

    /// Remembers that `hash` proved `user`, as read from the store after
    /// `epoch` was noted, for [`MAX_AGE`] or until `expires_in`, whichever
    /// comes first.
    pub(crate) fn put(
        &self,
        kind: Kind,
        hash: String,
        user: User,
        epoch: u64,
        expires_in: Option<Duration>,
    ) {
        let age = expires_in.map_or(MAX_AGE, |left| left.min(MAX_AGE));
        self.map(kind)
            .insert(hash, (user, epoch), Instant::now() + age);
    }

    /// Forgets `hash` (its login just ended here).
    pub(crate) fn forget(&self, kind: Kind, hash: &str) {
        self.map(kind).remove(hash);
    }

    fn map(&self, kind: Kind) -> &ExpiringMap<String, (User, u64)> {
        match kind {
            Kind::Bearer => &self.bearer,
            Kind::Cookie => &self.cookie,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atelier_core::{Role, UserName};

    fn alice() -> User {
        User {
            name: UserName::parse("alice").unwrap(),
            role: Role::User,
        }
    }

    #[test]
    fn serves_only_under_the_same_epoch_and_kind() {
        let cache = CallerCache::default();
        cache.put(Kind::Bearer, "h1".into(), alice(), 7, None);
        assert_eq!(cache.get(Kind::Bearer, "h1", 7), Some(alice()));
        assert_eq!(cache.get(Kind::Cookie, "h1", 7), None);
        assert_eq!(cache.get(Kind::Bearer, "h2", 7), None);
        // The store moved on: the entry is dropped, not served.
        assert_eq!(cache.get(Kind::Bearer, "h1", 8), None);
        assert_eq!(cache.get(Kind::Bearer, "h1", 7), None);
    }

    #[test]
    fn never_outlives_the_login() {
        let cache = CallerCache::default();
        cache.put(Kind::Cookie, "h".into(), alice(), 0, Some(Duration::ZERO));
        assert_eq!(cache.get(Kind::Cookie, "h", 0), None);
        cache.put(
            Kind::Cookie,
            "h".into(),
            alice(),
            0,
            Some(Duration::from_secs(60)),
        );
        assert_eq!(cache.get(Kind::Cookie, "h", 0), Some(alice()));
        cache.forget(Kind::Cookie, "h");
        assert_eq!(cache.get(Kind::Cookie, "h", 0), None);
    }

    #[test]
    fn stays_bounded() {
        let cache = CallerCache::default();
        for i in 0..MAX_ENTRIES + 10 {
            cache.put(Kind::Bearer, format!("h{i}"), alice(), 0, None);
        }
        assert!(cache.bearer.len() <= MAX_ENTRIES);
        let last = format!("h{}", MAX_ENTRIES + 9);
        assert_eq!(cache.get(Kind::Bearer, &last, 0), Some(alice()));
    }
}
