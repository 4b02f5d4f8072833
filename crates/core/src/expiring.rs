//! [`ExpiringMap`]: a small, bounded, thread-safe memory whose entries each
//! hold until a deadline. The hot paths use it to avoid reading the store on
//! every request (recognised credentials, other nodes' routes).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

/// Key → value, each until its own deadline. At most `max_entries` are
/// kept: when full, the expired entries go, and if that is not enough,
/// all of them (a cache may always forget).
pub struct ExpiringMap<K, V> {
    entries: Mutex<HashMap<K, (V, Instant)>>,
    max_entries: usize,
}

impl<K: Eq + Hash, V: Clone> ExpiringMap<K, V> {
    /// An empty map that keeps at most `max_entries`.
    pub fn new(max_entries: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            max_entries,
        }
    }

    /// The value under `key` if its deadline has not passed and `valid`
    /// accepts it; an entry that fails either is dropped.
    pub fn get_if<Q>(&self, key: &Q, valid: impl FnOnce(&V) -> bool) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let mut entries = self.lock();
        let (value, until) = entries.get(key)?;
        if Instant::now() < *until && valid(value) {
            return Some(value.clone());
        }
        entries.remove(key);
        None
    }

    /// The value under `key` if its deadline has not passed.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.get_if(key, |_| true)
    }

    /// Keeps `value` under `key` until `until`.
    pub fn insert(&self, key: K, value: V, until: Instant) {
        let mut entries = self.lock();
        if entries.len() >= self.max_entries {
            let now = Instant::now();
            entries.retain(|_, (_, until)| now < *until);
            if entries.len() >= self.max_entries {
                entries.clear();
            }
        }
        entries.insert(key, (value, until));
    }

    /// Drops the entry under `key`, if any.
    pub fn remove<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.lock().remove(key);
    }

    /// How many entries are held, expired ones included.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, (V, Instant)>> {
        // Every critical section is one lookup, insert, remove or retain,
        // so the map is consistent even if a holder panicked.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[test]
    fn an_entry_holds_until_its_deadline() {
        let map = ExpiringMap::new(10);
        map.insert("a".to_owned(), 1, later());
        map.insert("b".to_owned(), 2, Instant::now());
        assert_eq!(map.get("a"), Some(1));
        assert_eq!(map.get("b"), None, "an expired entry was returned");
        assert_eq!(map.len(), 1, "the expired entry was not dropped");
    }

    #[test]
    fn an_entry_the_check_refuses_is_dropped() {
        let map = ExpiringMap::new(10);
        map.insert("a".to_owned(), 1, later());
        assert_eq!(map.get_if("a", |v| *v == 2), None);
        assert_eq!(map.get("a"), None);
    }

    #[test]
    fn remove_forgets_at_once() {
        let map = ExpiringMap::new(10);
        map.insert("a".to_owned(), 1, later());
        map.remove("a");
        assert!(map.is_empty());
    }

    #[test]
    fn the_map_stays_bounded_and_keeps_live_entries_when_it_can() {
        let map = ExpiringMap::new(3);
        map.insert(1, (), Instant::now());
        map.insert(2, (), later());
        map.insert(3, (), later());
        map.insert(4, (), later());
        assert_eq!(map.len(), 3);
        assert!(
            map.get(&2).is_some(),
            "a live entry went while an expired one could"
        );
        for key in 5..20 {
            map.insert(key, (), later());
            assert!(map.len() <= 3);
        }
    }
}
