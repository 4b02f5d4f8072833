//! Login rate limiting: after too many failed logins within a window, a user
//! name, or a client address, is locked out for a while.
//!
//! Two kinds of key are counted separately: the user name tried (stops
//! guessing one account's password from many addresses) and the client
//! address (stops one client spraying many accounts), whose threshold is
//! [`ADDRESS_FACTOR`] times the user one. IPv6 clients are counted per /64,
//! since one host usually owns a whole /64; IPv4-mapped IPv6 addresses count
//! as their IPv4 address.
//!
//! Memory is bounded: entries are dropped once their window or lockout is
//! over, and the map never holds more than its capacity (100 000 keys by
//! default); when it is full the oldest entries that are not locked out go
//! first.
//!
//! Every method has an `_at` twin that takes the current [`Instant`], so
//! tests move time instead of sleeping.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// An address may fail this many times more often than a single user name.
pub const ADDRESS_FACTOR: u32 = 4;

/// The default cap on the number of keys the limiter remembers.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// User names longer than this are cut before being used as a key, so a
/// client cannot make the limiter store megabytes per entry.
const MAX_NAME_KEY: usize = 64;

/// How strict the limiter is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitSettings {
    /// Failures of one user name within `window` that trigger a lockout (an
    /// address gets [`ADDRESS_FACTOR`] times as many).
    pub max_failures: u32,
    /// How long failures are remembered, counted from the first one.
    pub window: Duration,
    /// How long a locked-out key stays locked.
    pub lockout: Duration,
}

impl Default for LimitSettings {
    /// 5 failures in 5 minutes lock the user name out for 5 minutes.
    fn default() -> Self {
        Self {
            max_failures: 5,
            window: Duration::from_secs(300),
            lockout: Duration::from_secs(300),
        }
    }
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
enum Key {
    User(String),
    Addr(IpAddr),
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    first_failure: Instant,
    locked_until: Option<Instant>,
}

impl Entry {
    /// True once the entry says nothing any more: its lockout is over, or it
    /// is not locked and its window has passed.
    fn expired(&self, now: Instant, window: Duration) -> bool {
        match self.locked_until {
            Some(until) => until <= now,
            None => self.first_failure + window <= now,
        }
    }
}

/// Counts failed logins and refuses further attempts during a lockout.
/// Shared between request handlers; all methods take `&self`.
#[derive(Debug)]
pub struct LoginLimiter {
    settings: LimitSettings,
    capacity: usize,
    entries: Mutex<HashMap<Key, Entry>>,
}

impl LoginLimiter {
    /// A limiter with `settings` and the default capacity.
    pub fn new(settings: LimitSettings) -> Self {
        Self::with_capacity(settings, DEFAULT_CAPACITY)
    }

    /// A limiter that remembers at most `capacity` keys (at least 1).
    pub fn with_capacity(settings: LimitSettings, capacity: usize) -> Self {
        Self {
            settings,
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// `Ok` when `user` may try to log in from `addr` now, otherwise the time
    /// to wait before trying again.
    pub fn check(&self, user: &str, addr: IpAddr) -> Result<(), Duration> {
        self.check_at(user, addr, Instant::now())
    }

    /// [`LoginLimiter::check`] at the given instant.
    pub fn check_at(&self, user: &str, addr: IpAddr, now: Instant) -> Result<(), Duration> {
        let entries = self.lock();
        let wait = [user_key(user), addr_key(addr)]
            .iter()
            .filter_map(|key| entries.get(key)?.locked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max();
        wait.map_or(Ok(()), Err)
    }

    /// Counts a failed login of `user` from `addr`.
    pub fn record_failure(&self, user: &str, addr: IpAddr) {
        self.record_failure_at(user, addr, Instant::now());
    }

    /// [`LoginLimiter::record_failure`] at the given instant.
    pub fn record_failure_at(&self, user: &str, addr: IpAddr, now: Instant) {
        let user_limit = self.settings.max_failures.max(1);
        let addr_limit = user_limit.saturating_mul(ADDRESS_FACTOR);
        let mut entries = self.lock();
        for (key, limit) in [(user_key(user), user_limit), (addr_key(addr), addr_limit)] {
            if !entries.contains_key(&key) && entries.len() >= self.capacity {
                self.make_room(&mut entries, now);
            }
            let fresh = Entry {
                failures: 0,
                first_failure: now,
                locked_until: None,
            };
            let entry = entries.entry(key).or_insert(fresh);
            if entry.expired(now, self.settings.window) {
                *entry = fresh;
            }
            if entry.locked_until.is_some() {
                continue;
            }
            entry.failures += 1;
            if entry.failures >= limit {
                entry.locked_until = Some(now + self.settings.lockout);
            }
        }
    }

    /// Forgets the failures of `user` after a successful login. The address
    /// count is kept, so that logging into one's own account does not reset
    /// a spraying client's budget.
    pub fn record_success(&self, user: &str, _addr: IpAddr) {
        self.lock().remove(&user_key(user));
    }

    /// How many keys are remembered now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops expired entries; if the map is still full, drops the oldest
    /// tenth, keys that are locked out last.
    fn make_room(&self, entries: &mut HashMap<Key, Entry>, now: Instant) {
        entries.retain(|_, entry| !entry.expired(now, self.settings.window));
        if entries.len() < self.capacity {
            return;
        }
        let mut order: Vec<(bool, Instant, Key)> = entries
            .iter()
            .map(|(key, entry)| {
                (
                    entry.locked_until.is_some(),
                    entry.first_failure,
                    key.clone(),
                )
            })
            .collect();
        order.sort_unstable_by_key(|(locked, first, _)| (*locked, *first));
        let drop = (self.capacity / 10).max(entries.len() + 1 - self.capacity);
        for (_, _, key) in order.into_iter().take(drop) {
            entries.remove(&key);
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Entry>> {
        // The map stays consistent even if a holder panicked: every update
        // is a single insert or field write.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn user_key(user: &str) -> Key {
    let name: String = user.trim().chars().take(MAX_NAME_KEY).collect();
    Key::User(name.to_lowercase())
}

fn addr_key(addr: IpAddr) -> Key {
    match addr {
        IpAddr::V4(_) => Key::Addr(addr),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => Key::Addr(IpAddr::V4(v4)),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                Key::Addr(IpAddr::V6(Ipv6Addr::from(prefix)))
            }
        },
    }
}

#[cfg(test)]
#[path = "rate_limit_tests.rs"]
mod tests;
