//! One session's group: its limits, its members, its OOM kills, its end.

use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use super::{fs_error, fs_type, read_text, write_value, Limits, Version, GROUP_DIR};
use crate::signal::kill;
use crate::{OsError, Signal};

/// How long [`SessionCgroup::remove`] retries a group that is still busy.
const REMOVE_LIMIT: Duration = Duration::from_secs(2);
/// Pause between two attempts.
const POLL: Duration = Duration::from_millis(20);
/// v1 reports "unlimited" as a huge number near `i64::MAX`.
const V1_UNLIMITED: u64 = 1 << 62;

/// The group `atelier/<name>` of one session: one folder per hierarchy in
/// v1 (memory, cpu), one folder in v2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionCgroup {
    version: Version,
    /// The memory group (v1) or the only group (v2).
    memory: PathBuf,
    /// The cpu group (v1 only).
    cpu: Option<PathBuf>,
}

impl SessionCgroup {
    pub(super) fn new(version: Version, memory: PathBuf, cpu: Option<PathBuf>) -> SessionCgroup {
        let cpu = cpu.filter(|_| version == Version::V1);
        SessionCgroup {
            version,
            memory,
            cpu,
        }
    }

    /// Finds an existing group again from its folders as recorded by the
    /// caller (see [`SessionCgroup::dirs`]), e.g. after a server restart,
    /// when the server may run in another group than before. Each folder
    /// must exist on a cgroup file system of `version` and be named
    /// `.../atelier/<name>`; the first is the memory (or only) group.
    pub fn adopt(version: Version, dirs: &[PathBuf], name: &str) -> Result<SessionCgroup, OsError> {
        super::check_name(name)?;
        let bad = |path: &Path, reason| OsError::BadCgroup {
            path: path.to_owned(),
            reason,
        };
        let most = if version == Version::V1 { 2 } else { 1 };
        if dirs.is_empty() || dirs.len() > most {
            return Err(bad(Path::new(name), "wrong number of cgroup folders"));
        }
        #[allow(clippy::unnecessary_cast)] // the constants' type differs between targets.
        let magic = match version {
            Version::V1 => libc::CGROUP_SUPER_MAGIC as i64,
            Version::V2 => libc::CGROUP2_SUPER_MAGIC as i64,
        };
        for dir in dirs {
            let plain = dir.is_absolute()
                && dir
                    .components()
                    .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
            let named = dir.file_name().is_some_and(|n| n == name)
                && dir
                    .parent()
                    .and_then(Path::file_name)
                    .is_some_and(|n| n == GROUP_DIR);
            if !(plain && named) {
                return Err(bad(dir, "not an atelier/<name> folder"));
            }
            if fs_type(dir) != Some(magic) {
                return Err(bad(dir, "not a folder of this cgroup version"));
            }
        }
        Ok(SessionCgroup::new(
            version,
            dirs[0].clone(),
            dirs.get(1).cloned(),
        ))
    }

    /// The interface in use.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The group's folders: memory then cpu in v1, the one folder in v2.
    /// Record them to [`SessionCgroup::adopt`] the group later.
    pub fn dirs(&self) -> Vec<PathBuf> {
        std::iter::once(self.memory.clone())
            .chain(self.cpu.clone())
            .collect()
    }

    /// The `cgroup.procs` files a process writes `0` to in order to join the
    /// group; pass them to [`crate::spawn::Confine`].
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs()
            .into_iter()
            .map(|d| d.join("cgroup.procs"))
            .collect()
    }

    /// The group's memory limit in bytes, or `None` when unlimited or unreadable.
    pub fn memory_limit(&self) -> Option<u64> {
        let file = match self.version {
            Version::V1 => "memory.limit_in_bytes",
            Version::V2 => "memory.max",
        };
        let value: u64 = read_text(&self.memory.join(file))?.trim().parse().ok()?;
        (value < V1_UNLIMITED).then_some(value)
    }

    /// How many processes of the group the kernel killed for exceeding its
    /// memory limit (the `oom_kill` counter). Kernels older than 4.13 have no
    /// such counter: then this is how often the limit was hit (`failcnt` in
    /// v1, `oom` in v2), and only together with a process ended by SIGKILL
    /// does it mean an OOM kill; [`SessionCgroup::oom_count_is_exact`] tells which.
    pub fn oom_kills(&self) -> u64 {
        let (exact, hits) = self.oom_counters();
        exact.unwrap_or(hits)
    }

    /// True when [`SessionCgroup::oom_kills`] counts kills (the kernel has the counter).
    pub fn oom_count_is_exact(&self) -> bool {
        self.oom_counters().0.is_some()
    }

    /// The exact kill counter if there is one, and the limit-hit fallback.
    fn oom_counters(&self) -> (Option<u64>, u64) {
        let counter = |file: &str, key: &str| {
            let text = read_text(&self.memory.join(file))?;
            text.lines().find_map(|line| {
                let (name, value) = line.split_once(' ')?;
                (name == key).then(|| value.trim().parse().ok())?
            })
        };
        let number = |file: &str| {
            read_text(&self.memory.join(file)).and_then(|t| t.trim().parse::<u64>().ok())
        };
        match self.version {
            Version::V1 => {
                let hits = number("memory.failcnt")
                    .unwrap_or(0)
                    .max(number("memory.memsw.failcnt").unwrap_or(0));
                (counter("memory.oom_control", "oom_kill"), hits)
            }
            Version::V2 => (
                counter("memory.events", "oom_kill"),
                counter("memory.events", "oom").unwrap_or(0),
            ),
        }
    }

    /// The pids in the group (any of its folders), sorted.
    pub fn members(&self) -> Vec<i32> {
        let mut pids: Vec<i32> = self
            .procs_files()
            .iter()
            .filter_map(|file| read_text(file))
            .flat_map(|text| {
                text.lines()
                    .filter_map(|l| l.trim().parse().ok())
                    .collect::<Vec<i32>>()
            })
            .collect();
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// SIGKILLs every member until the group is empty or `limit` has passed
    /// (then [`OsError::CgroupBusy`] names the survivors). Blocks: call it
    /// from a blocking context. v2 uses `cgroup.kill` when the kernel has it.
    pub fn kill_all(&self, limit: Duration) -> Result<(), OsError> {
        let deadline = Instant::now() + limit;
        let group_kill = self.memory.join("cgroup.kill");
        let use_group_kill = self.version == Version::V2 && group_kill.exists();
        loop {
            let members = self.members();
            if members.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(OsError::CgroupBusy {
                    path: self.memory.clone(),
                    pids: members,
                });
            }
            if use_group_kill {
                write_value(&group_kill, "1").map_err(fs_error("cannot write", &group_kill))?;
            } else {
                for pid in members {
                    // Gone already, or a pid that must never be signalled: skip.
                    let _ = kill(pid, Signal::Kill);
                }
            }
            std::thread::sleep(POLL);
        }
    }

    /// Removes the group's folders once it is empty, retrying for a moment
    /// while the kernel finishes taking exited members out. A folder that is
    /// already gone is fine. Blocks: call it from a blocking context.
    pub fn remove(&self) -> Result<(), OsError> {
        for dir in self.dirs() {
            remove_dir(&dir)?;
        }
        Ok(())
    }

    /// Writes the limits into the new group's control files.
    pub(super) fn apply(&self, limits: Limits) -> Result<(), OsError> {
        let set = |dir: &Path, file: &str, value: String| {
            let path = dir.join(file);
            write_value(&path, &value).map_err(fs_error("cannot write", &path))
        };
        let exists = |file: &str| self.memory.join(file).exists();
        let cpu_dir = self.cpu.as_deref().unwrap_or(&self.memory);
        match self.version {
            Version::V1 => {
                if let Some(bytes) = limits.memory {
                    set(&self.memory, "memory.limit_in_bytes", bytes.to_string())?;
                    if exists("memory.memsw.limit_in_bytes") {
                        set(
                            &self.memory,
                            "memory.memsw.limit_in_bytes",
                            bytes.to_string(),
                        )?;
                    }
                }
                if let Some(cpus) = limits.cpus {
                    set(cpu_dir, "cpu.cfs_period_us", "100000".to_owned())?;
                    set(
                        cpu_dir,
                        "cpu.cfs_quota_us",
                        Limits::cpu_quota_us(cpus).to_string(),
                    )?;
                }
            }
            Version::V2 => {
                if let Some(bytes) = limits.memory {
                    set(&self.memory, "memory.max", bytes.to_string())?;
                    if exists("memory.swap.max") {
                        set(&self.memory, "memory.swap.max", "0".to_owned())?;
                    }
                }
                if let Some(cpus) = limits.cpus {
                    let quota = Limits::cpu_quota_us(cpus);
                    set(cpu_dir, "cpu.max", format!("{quota} 100000"))?;
                }
            }
        }
        Ok(())
    }
}

/// `rmdir` with retries while the group is busy; a missing folder is fine.
fn remove_dir(dir: &Path) -> Result<(), OsError> {
    let deadline = Instant::now() + REMOVE_LIMIT;
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                std::thread::sleep(POLL);
            }
            Err(source) => return Err(fs_error("cannot remove cgroup", dir)(source)),
        }
    }
}
