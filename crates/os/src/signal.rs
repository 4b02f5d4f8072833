//! Sending signals to one process or to a whole process group. "No such
//! process" is not an error here: it means the target is already gone.
#![allow(unsafe_code)] // kill(2) has no safe wrapper in std.

use std::io;

use crate::OsError;

/// The signals Atelier sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// `SIGTERM`: please stop.
    Term,
    /// `SIGKILL`: stop now.
    Kill,
    /// `SIGINT`: interrupt.
    Int,
    /// `SIGHUP`: hang up.
    Hup,
}

impl Signal {
    /// The signal's number.
    pub fn number(self) -> i32 {
        match self {
            Signal::Term => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
            Signal::Int => libc::SIGINT,
            Signal::Hup => libc::SIGHUP,
        }
    }
}

/// Sends `signal` to process `pid`. `Ok(true)` if it was delivered,
/// `Ok(false)` if no such process exists. Refuses pids 0, 1 and negatives,
/// which would reach more than one process.
pub fn kill(pid: i32, signal: Signal) -> Result<bool, OsError> {
    if pid <= 1 {
        return Err(OsError::InvalidPid { pid });
    }
    send(pid, signal).map_err(|source| OsError::Signal {
        target: format!("pid {pid}"),
        signal,
        source,
    })
}

/// Sends `signal` to every process of group `pgid`. `Ok(true)` if it reached
/// at least one, `Ok(false)` if the group is empty. Refuses groups 0 and 1.
pub fn kill_group(pgid: i32, signal: Signal) -> Result<bool, OsError> {
    if pgid <= 1 {
        return Err(OsError::InvalidPid { pid: pgid });
    }
    send(-pgid, signal).map_err(|source| OsError::Signal {
        target: format!("group {pgid}"),
        signal,
        source,
    })
}

/// `kill(2)` with ESRCH mapped to `Ok(false)`.
fn send(target: i32, signal: Signal) -> io::Result<bool> {
    // SAFETY: kill has no memory-safety preconditions; callers reject the
    // broadcast targets 0, -1 and 1.
    if unsafe { libc::kill(target, signal.number()) } == 0 {
        return Ok(true);
    }
    let error = io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::ESRCH) {
        Ok(false)
    } else {
        Err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    use std::process::Command;

    #[test]
    fn broadcast_targets_are_refused() {
        for pid in [-1, 0, 1] {
            assert!(matches!(
                kill(pid, Signal::Term),
                Err(OsError::InvalidPid { .. })
            ));
            assert!(matches!(
                kill_group(pid, Signal::Term),
                Err(OsError::InvalidPid { .. })
            ));
        }
    }

    #[test]
    fn kill_reaches_a_child_then_reports_it_gone() {
        let mut child = Command::new("/bin/sleep").arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        assert!(kill(pid, Signal::Term).unwrap());
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGTERM));
        assert!(
            !kill(pid, Signal::Term).unwrap(),
            "a reaped pid is already gone"
        );
    }

    #[test]
    fn kill_group_reaches_every_member() {
        // A shell in its own group that starts a second sleeper in the same group.
        let mut child = Command::new("/bin/sh")
            .args(["-c", "/bin/sleep 30 & exec /bin/sleep 30"])
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = child.id() as i32;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while crate::process::pids_in_group(pgid).len() < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "second member never appeared"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(kill_group(pgid, Signal::Kill).unwrap());
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !crate::process::pids_in_group(pgid).is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "group member survived SIGKILL"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
