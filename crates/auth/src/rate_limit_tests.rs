//! Tests of the login limiter, with a moved clock instead of sleeps.

use super::*;

const MIN: Duration = Duration::from_secs(60);

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn limiter() -> LoginLimiter {
    LoginLimiter::new(LimitSettings::default())
}

fn fail(limiter: &LoginLimiter, user: &str, addr: &str, times: u32, now: Instant) {
    for _ in 0..times {
        limiter.record_failure_at(user, ip(addr), now);
    }
}

#[test]
fn defaults_are_five_failures_five_minutes() {
    let settings = LimitSettings::default();
    assert_eq!(
        (settings.max_failures, settings.window, settings.lockout),
        (5, 5 * MIN, 5 * MIN)
    );
}

#[test]
fn user_is_locked_after_max_failures_from_any_address() {
    let limiter = limiter();
    let t0 = Instant::now();
    for i in 0..4 {
        limiter.record_failure_at("alice", ip(&format!("10.0.0.{i}")), t0);
    }
    assert_eq!(limiter.check_at("alice", ip("10.0.0.9"), t0), Ok(()));
    limiter.record_failure_at("alice", ip("10.0.0.5"), t0 + MIN);
    assert_eq!(
        limiter.check_at("alice", ip("10.9.9.9"), t0 + MIN),
        Err(5 * MIN)
    );
    assert_eq!(
        limiter.check_at("alice", ip("10.9.9.9"), t0 + 3 * MIN),
        Err(3 * MIN)
    );
    // Another user from the same addresses is not affected.
    assert_eq!(limiter.check_at("bob", ip("10.0.0.5"), t0 + MIN), Ok(()));
}

#[test]
fn lockout_ends_and_counting_starts_again() {
    let limiter = limiter();
    let t0 = Instant::now();
    fail(&limiter, "alice", "10.0.0.1", 5, t0);
    assert!(limiter
        .check_at(
            "alice",
            ip("10.0.0.1"),
            t0 + 5 * MIN - Duration::from_secs(1)
        )
        .is_err());
    let later = t0 + 5 * MIN;
    assert_eq!(limiter.check_at("alice", ip("10.0.0.1"), later), Ok(()));
    // One more failure after the lockout is the first of a new window.
    fail(&limiter, "alice", "10.0.0.1", 1, later);
    assert_eq!(limiter.check_at("alice", ip("10.0.0.1"), later), Ok(()));
}

#[test]
fn failures_outside_the_window_are_forgotten() {
    let limiter = limiter();
    let t0 = Instant::now();
    fail(&limiter, "alice", "10.0.0.1", 4, t0);
    fail(&limiter, "alice", "10.0.0.1", 4, t0 + 6 * MIN);
    assert_eq!(
        limiter.check_at("alice", ip("10.0.0.1"), t0 + 6 * MIN),
        Ok(())
    );
}

#[test]
fn address_has_four_times_the_user_threshold() {
    let limiter = limiter();
    let t0 = Instant::now();
    // 19 failures spread over many names: no name reaches 5, the address
    // stays below 20.
    for i in 0..19 {
        limiter.record_failure_at(&format!("user{i}"), ip("192.0.2.7"), t0);
    }
    assert_eq!(limiter.check_at("someone", ip("192.0.2.7"), t0), Ok(()));
    limiter.record_failure_at("user19", ip("192.0.2.7"), t0);
    assert_eq!(
        limiter.check_at("someone", ip("192.0.2.7"), t0),
        Err(5 * MIN)
    );
    assert_eq!(limiter.check_at("someone", ip("192.0.2.8"), t0), Ok(()));
}

#[test]
fn success_clears_the_user_but_not_the_address() {
    let limiter = limiter();
    let t0 = Instant::now();
    fail(&limiter, "alice", "192.0.2.1", 4, t0);
    limiter.record_success("alice", ip("192.0.2.1"));
    fail(&limiter, "alice", "192.0.2.1", 4, t0);
    assert_eq!(limiter.check_at("alice", ip("192.0.2.1"), t0), Ok(()));
    fail(&limiter, "alice", "192.0.2.1", 1, t0);
    assert!(limiter.check_at("alice", ip("192.0.2.1"), t0).is_err());
    // The address has 9 failures, not 0: 11 more lock it.
    limiter.record_success("alice", ip("192.0.2.1"));
    for i in 0..11 {
        limiter.record_failure_at(&format!("u{i}"), ip("192.0.2.1"), t0);
    }
    assert!(limiter.check_at("carol", ip("192.0.2.1"), t0).is_err());
}

#[test]
fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
    let limiter = limiter();
    let t0 = Instant::now();
    for i in 0..20 {
        limiter.record_failure_at(&format!("u{i}"), ip(&format!("2001:db8:1:2::{i:x}")), t0);
    }
    assert!(limiter
        .check_at("x", ip("2001:db8:1:2:ffff::1"), t0)
        .is_err());
    assert_eq!(limiter.check_at("x", ip("2001:db8:1:3::1"), t0), Ok(()));

    for i in 0..20 {
        limiter.record_failure_at(&format!("v{i}"), ip("::ffff:198.51.100.4"), t0);
    }
    assert!(limiter.check_at("x", ip("198.51.100.4"), t0).is_err());
}

#[test]
fn user_names_are_compared_trimmed_and_case_folded() {
    let limiter = limiter();
    let t0 = Instant::now();
    for name in ["alice", "Alice", " ALICE", "alice ", "aLiCe"] {
        limiter.record_failure_at(name, ip("10.0.0.1"), t0);
    }
    assert!(limiter.check_at("alice", ip("10.1.1.1"), t0).is_err());
}

#[test]
fn memory_stays_bounded_and_locked_keys_survive_eviction() {
    let limiter = LoginLimiter::with_capacity(LimitSettings::default(), 100);
    let t0 = Instant::now();
    fail(&limiter, "victim", "10.0.0.1", 5, t0);
    for i in 0..1000u32 {
        let addr = IpAddr::from([10, 1, (i / 256) as u8, (i % 256) as u8]);
        limiter.record_failure_at(
            &format!("spray{i}"),
            addr,
            t0 + Duration::from_millis(i.into()),
        );
        assert!(limiter.len() <= 100, "{} keys", limiter.len());
    }
    assert!(limiter
        .check_at("victim", ip("10.2.2.2"), t0 + MIN)
        .is_err());
}

#[test]
fn expired_entries_are_evicted_first() {
    let limiter = LoginLimiter::with_capacity(LimitSettings::default(), 10);
    let t0 = Instant::now();
    fail(&limiter, "old", "10.0.0.1", 1, t0);
    assert_eq!(limiter.len(), 2);
    let later = t0 + 10 * MIN;
    for i in 0..4u8 {
        limiter.record_failure_at(&format!("new{i}"), IpAddr::from([10, 0, 1, i]), later);
    }
    // 2 old + 8 new reach the cap; the next key first drops the expired pair.
    limiter.record_failure_at("new4", ip("10.0.1.4"), later);
    assert_eq!(limiter.len(), 10);
    let entries = limiter.lock();
    assert!(
        !entries.contains_key(&user_key("old")) && !entries.contains_key(&addr_key(ip("10.0.0.1")))
    );
    assert!(entries.contains_key(&user_key("new0")) && entries.contains_key(&user_key("new4")));
}

#[test]
fn limiter_is_shared_between_threads() {
    let limiter = std::sync::Arc::new(limiter());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let limiter = limiter.clone();
            std::thread::spawn(move || limiter.record_failure("shared", ip("10.0.0.1")))
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(limiter.check("shared", ip("10.0.0.2")), Ok(()));
    limiter.record_failure("shared", ip("10.0.0.3"));
    assert!(limiter.check("shared", ip("10.0.0.2")).is_err());
}
