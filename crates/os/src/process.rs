//! Facts about running processes, read from `/proc`: parent, process group,
//! session, real uid, start time and whether the process is a zombie.
//!
//! A pid alone does not name a process for long: the kernel reuses pids. A
//! pid together with its start time (clock ticks since boot, field 22 of
//! `/proc/<pid>/stat`) does, which is what [`is_alive`] checks.

use std::fs;
use std::path::Path;

mod table;

pub use table::{ProcessTable, TableEntry};

/// A snapshot of one process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessInfo {
    /// The process id.
    pub pid: i32,
    /// The parent's pid.
    pub ppid: i32,
    /// The process group id.
    pub pgid: i32,
    /// The session id (equal to `pid` for a session leader).
    pub sid: i32,
    /// The real user id.
    pub uid: u32,
    /// When it started, in clock ticks since boot; with `pid`, names the process.
    pub start_time: u64,
    /// True once it has exited but not yet been reaped (state `Z` or `X`).
    pub zombie: bool,
}

impl ProcessInfo {
    /// Reads the process `pid`; `None` if it does not exist (or vanished while reading).
    pub fn read(pid: i32) -> Option<ProcessInfo> {
        if pid <= 0 {
            return None;
        }
        Self::read_dir(&Path::new("/proc").join(pid.to_string()))
    }

    /// Reads the process whose `/proc` folder is `dir`.
    fn read_dir(dir: &Path) -> Option<ProcessInfo> {
        let stat = fs::read_to_string(dir.join("stat")).ok()?;
        let status = fs::read_to_string(dir.join("status")).ok()?;
        let mut info = parse_stat(&stat)?;
        info.uid = parse_real_uid(&status)?;
        Some(info)
    }
}

/// True if the process `pid` exists, started at `start_time` (so it is the
/// same process, not a later one with a reused pid) and is not a zombie.
pub fn is_alive(pid: i32, start_time: u64) -> bool {
    ProcessInfo::read(pid).is_some_and(|p| p.start_time == start_time && !p.zombie)
}

/// The pids of every readable process whose environment holds exactly
/// `key=value`. Processes whose environment cannot be read are skipped.
pub fn pids_with_env(key: &str, value: &str) -> Vec<i32> {
    let wanted = format!("{key}={value}").into_bytes();
    all_pids()
        .filter(|pid| {
            let Ok(environ) = fs::read(format!("/proc/{pid}/environ")) else {
                return false;
            };
            environ
                .split(|b| *b == 0)
                .any(|entry| entry == wanted.as_slice())
        })
        .collect()
}

/// The pids of the live (non-zombie) members of process group `pgid`.
pub fn pids_in_group(pgid: i32) -> Vec<i32> {
    all_pids()
        .filter_map(ProcessInfo::read)
        .filter(|p| p.pgid == pgid && !p.zombie)
        .map(|p| p.pid)
        .collect()
}

/// Every pid listed in `/proc` right now.
fn all_pids() -> impl Iterator<Item = i32> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
}

/// Parses `/proc/<pid>/stat`. The command name (field 2) is in parentheses
/// and may itself hold spaces and parentheses, so fields are counted from
/// the last `)`. The uid is not in this file and is left at 0.
fn parse_stat(stat: &str) -> Option<ProcessInfo> {
    let (head, tail) = stat.rsplit_once(')')?;
    let pid = head.split_once('(')?.0.trim().parse().ok()?;
    // tail fields: 0 state, 1 ppid, 2 pgrp, 3 session, ... 19 starttime.
    let fields: Vec<&str> = tail.split_whitespace().collect();
    let state = fields.first()?;
    Some(ProcessInfo {
        pid,
        ppid: fields.get(1)?.parse().ok()?,
        pgid: fields.get(2)?.parse().ok()?,
        sid: fields.get(3)?.parse().ok()?,
        uid: 0,
        start_time: fields.get(19)?.parse().ok()?,
        zombie: matches!(*state, "Z" | "X" | "x"),
    })
}

/// The real uid from the `Uid:` line of `/proc/<pid>/status`.
fn parse_real_uid(status: &str) -> Option<u32> {
    let line = status.lines().find_map(|line| line.strip_prefix("Uid:"))?;
    line.split_whitespace().next()?.parse().ok()
}

/// Makes the calling process the leader of a new process group (its own
/// pid), unless it already leads one; a stop can then signal the group.
#[allow(unsafe_code)] // setpgid has no safe wrapper in std.
pub fn lead_own_group() {
    // SAFETY: setpgid(0, 0) only changes this process's group; failure
    // (it leads a session already, hence a group) is harmless.
    unsafe {
        libc::setpgid(0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    #[test]
    fn stat_parsing_counts_from_the_last_paren() {
        let stat = "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 \
                    987654 1000 200 18446744073709551615";
        let info = parse_stat(stat).unwrap();
        assert_eq!(
            (info.pid, info.ppid, info.pgid, info.sid),
            (4242, 1, 4242, 4242)
        );
        assert_eq!(info.start_time, 987654);
        assert!(!info.zombie);
        let zombie = stat.replace(") S 1", ") Z 1");
        assert!(parse_stat(&zombie).unwrap().zombie);
    }

    #[test]
    fn reads_this_process() {
        let me = ProcessInfo::read(std::process::id() as i32).unwrap();
        assert_eq!(me.pid, std::process::id() as i32);
        let uid = crate::Account::current().unwrap().uid; // tests run with uid == euid
        assert_eq!(
            (me.uid, me.ppid),
            (uid, std::os::unix::process::parent_id() as i32)
        );
        assert!(me.start_time > 0 && !me.zombie);
        assert!(is_alive(me.pid, me.start_time));
        assert!(
            !is_alive(me.pid, me.start_time + 1),
            "a wrong start time must not match"
        );
    }

    #[test]
    fn missing_and_invalid_pids_are_none() {
        assert_eq!(ProcessInfo::read(0), None);
        assert_eq!(ProcessInfo::read(-5), None);
        assert_eq!(ProcessInfo::read(i32::MAX), None);
    }

    #[test]
    fn a_reaped_child_is_not_alive_and_a_zombie_is_not_either() {
        let mut child = Command::new("/bin/sleep").arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        let start = ProcessInfo::read(pid).unwrap().start_time;
        assert!(is_alive(pid, start));
        child.kill().unwrap();
        // Unreaped: a zombie until waited for.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while ProcessInfo::read(pid).is_some_and(|p| !p.zombie) {
            assert!(
                std::time::Instant::now() < deadline,
                "child never became a zombie"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!is_alive(pid, start), "a zombie counts as dead");
        child.wait().unwrap();
        assert!(!is_alive(pid, start));
        assert_eq!(ProcessInfo::read(pid), None);
    }

    #[test]
    fn finds_a_child_by_its_marker_env() {
        let marker = format!("marker-{}", std::process::id());
        let mut child = Command::new("/bin/sleep")
            .arg("30")
            .env("ATELIER_TEST_MARKER", &marker)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let found = pids_with_env("ATELIER_TEST_MARKER", &marker);
        let prefix_only = pids_with_env("ATELIER_TEST_MARKER", &marker[..marker.len() - 1]);
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(found, vec![pid]);
        assert!(prefix_only.is_empty(), "only exact key=value entries match");
        assert!(pids_with_env("ATELIER_TEST_MARKER", &marker).is_empty());
    }
}
