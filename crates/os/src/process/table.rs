//! Every process on the machine, read from `/proc` in one pass.
//!
//! Finding a session's processes means looking at every process: its group,
//! its owner and one variable of its environment. Done once per stopping
//! session, that is a pass over `/proc` per stop, and a server stopping a
//! thousand sessions at once spends its CPU re-reading the same files. A
//! [`ProcessTable`] is one such pass that any number of lookups can share.

use std::fs;
use std::path::Path;

use super::{all_pids, ProcessInfo};

/// One process as the table saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableEntry {
    /// Its pid, group, owner, start time and state.
    pub info: ProcessInfo,
    /// The value of the table's marker variable in its environment; `None`
    /// when it has none or its environment could not be read.
    pub marker: Option<Box<str>>,
}

/// A reading of every process in `/proc` (except the reader itself), with
/// the value each one holds for one environment variable.
#[derive(Clone, Debug, Default)]
pub struct ProcessTable {
    entries: Vec<TableEntry>,
}

impl ProcessTable {
    /// Reads every process now, looking up `marker_key` in each one's
    /// environment. Processes that vanish while being read are left out.
    /// Blocks for a time that grows with the number of processes: call it
    /// off the async threads.
    pub fn read(marker_key: &str) -> ProcessTable {
        let me = std::process::id() as i32;
        let prefix = format!("{marker_key}=").into_bytes();
        let entries = all_pids()
            .filter(|pid| *pid != me)
            .filter_map(|pid| read_entry(pid, &prefix))
            .collect();
        ProcessTable { entries }
    }

    /// The process `pid`, if the table saw it.
    pub fn get(&self, pid: i32) -> Option<&TableEntry> {
        self.entries.iter().find(|entry| entry.info.pid == pid)
    }

    /// The live (non-zombie) processes whose marker is `value`, of any owner
    /// when `uid` is `None`, else only those whose real uid is `uid`.
    pub fn marked<'a>(
        &'a self,
        value: &'a str,
        uid: Option<u32>,
    ) -> impl Iterator<Item = i32> + 'a {
        self.live()
            .filter(move |entry| entry.marker.as_deref() == Some(value))
            .filter(move |entry| uid.is_none_or(|uid| entry.info.uid == uid))
            .map(|entry| entry.info.pid)
    }

    /// The live members of process group `pgid`.
    pub fn in_group(&self, pgid: i32) -> impl Iterator<Item = i32> + '_ {
        self.live()
            .filter(move |entry| entry.info.pgid == pgid)
            .map(|entry| entry.info.pid)
    }

    fn live(&self) -> impl Iterator<Item = &TableEntry> {
        self.entries.iter().filter(|entry| !entry.info.zombie)
    }
}

/// Reads `/proc/<pid>`'s stat, status and environment.
fn read_entry(pid: i32, prefix: &[u8]) -> Option<TableEntry> {
    let dir = Path::new("/proc").join(pid.to_string());
    let info = ProcessInfo::read_dir(&dir)?;
    let marker = fs::read(dir.join("environ"))
        .ok()
        .and_then(|environ| marker_value(&environ, prefix));
    Some(TableEntry { info, marker })
}

/// The value after `prefix` (`KEY=`) in a NUL-separated environment.
fn marker_value(environ: &[u8], prefix: &[u8]) -> Option<Box<str>> {
    let value = environ
        .split(|b| *b == 0)
        .find_map(|entry| entry.strip_prefix(prefix))?;
    Some(String::from_utf8_lossy(value).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    #[test]
    fn the_marker_is_the_value_of_the_exact_key() {
        let environ = b"PATH=/bin\0ATELIER_SESSION_IDX=no\0ATELIER_SESSION_ID=abc\0";
        assert_eq!(
            marker_value(environ, b"ATELIER_SESSION_ID=").as_deref(),
            Some("abc")
        );
        assert_eq!(marker_value(b"PATH=/bin\0", b"ATELIER_SESSION_ID="), None);
        assert_eq!(
            marker_value(b"ATELIER_SESSION_ID=", b"ATELIER_SESSION_ID=").as_deref(),
            Some("")
        );
    }

    #[test]
    fn a_marked_child_is_found_by_marker_group_and_owner() {
        // Until it has exec'd, a forked child shows its parent's
        // environment: wait for the shell's first line.
        let mut child = Command::new("/bin/sh")
            .args(["-c", "echo started; exec sleep 30"])
            .env("ATELIER_TABLE_TEST", "table-test-1")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "started\n");
        let pid = child.id() as i32;
        let table = ProcessTable::read("ATELIER_TABLE_TEST");
        let entry = table.get(pid).expect("the child is in the table").clone();
        let uid = entry.info.uid;
        assert_eq!(entry.marker.as_deref(), Some("table-test-1"));
        assert_eq!(
            table.marked("table-test-1", None).collect::<Vec<_>>(),
            [pid]
        );
        assert_eq!(
            table.marked("table-test-1", Some(uid)).collect::<Vec<_>>(),
            [pid]
        );
        assert_eq!(table.marked("table-test-1", Some(uid + 1)).count(), 0);
        assert_eq!(table.marked("table-test-2", None).count(), 0);
        assert!(table.in_group(entry.info.pgid).any(|p| p == pid));
        assert!(
            table.get(std::process::id() as i32).is_none(),
            "the reader leaves itself out"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        let after = ProcessTable::read("ATELIER_TABLE_TEST");
        assert_eq!(after.marked("table-test-1", None).count(), 0);
    }

    #[test]
    fn zombies_are_neither_marked_nor_group_members() {
        let zombie = |pid| TableEntry {
            info: ProcessInfo {
                pid,
                ppid: 1,
                pgid: 7,
                sid: 7,
                uid: 1000,
                start_time: 1,
                zombie: pid == 8,
            },
            marker: Some("s".into()),
        };
        let table = ProcessTable {
            entries: vec![zombie(7), zombie(8)],
        };
        assert_eq!(table.marked("s", Some(1000)).collect::<Vec<_>>(), [7]);
        assert_eq!(table.in_group(7).collect::<Vec<_>>(), [7]);
    }
}
