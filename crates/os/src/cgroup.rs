//! Holding sessions to resource limits (CPUs, memory) with Linux control
//! groups, and noticing when the kernel kills one of their processes for
//! using too much memory.
//!
//! [`Cgroups::detect`] finds this process's own groups once, at start: in
//! cgroup v1 its group in the `memory` hierarchy and in the `cpu` hierarchy
//! (which may be `/`), in cgroup v2 its one group of the unified hierarchy.
//! Under each, [`Cgroups::create`] makes `atelier/<name>` for one session
//! (creating `atelier/` the first time):
//!
//! | | cgroup v1 | cgroup v2 |
//! |---|---|---|
//! | memory | `memory.limit_in_bytes`, and `memory.memsw.limit_in_bytes` when present (swap cannot dodge the limit) | `memory.max`, and `memory.swap.max = 0` |
//! | CPUs | `cpu.cfs_period_us = 100000`, `cpu.cfs_quota_us = cpus × 100000` | `cpu.max = "<cpus × 100000> 100000"` |
//! | OOM kills | `oom_kill N` in `memory.oom_control` | `oom_kill N` in `memory.events` |
//! | kill all | SIGKILL each member until none is left | `cgroup.kill`, else the same loop |
//!
//! A process joins before it runs anything: [`crate::spawn::Confine`] makes
//! the forked child write `0` (meaning "the writing process", accepted by v1
//! and v2 alike) to each group's `cgroup.procs`, so the IDE and everything it
//! starts are inside.
//!
//! Only cgroup v1 (hybrid mode) is tested, because that is what Atelier's
//! machines have. The v2 path follows the kernel's documentation and its
//! joining, `cgroup.kill` and removal are tested on the hybrid machine's
//! unified hierarchy (which has no controllers there); its limits and OOM
//! counters are not. In v2 the server's own group must let it enable the
//! `memory` and `cpu` controllers for its children, which fails while that
//! group also holds processes (the "no internal processes" rule) unless it
//! is the root group: run the server in a group delegated to it, or detection
//! reports why cgroups are unusable.
//!
//! When cgroups are unusable, the caller can fall back to an address-space
//! limit (`RLIMIT_AS`, see [`crate::spawn::Confine`]); CPUs cannot be limited
//! by an rlimit.
#![allow(unsafe_code)] // statfs(2) and access(2) have no safe wrapper in std.

mod hierarchy;
mod limits;
mod session;
#[cfg(test)]
mod tests;

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::{is_root, OsError};

pub use limits::{format_bytes, format_cpus, Limits};
pub use session::SessionCgroup;

/// The folder, under each of the server's own groups, that holds the sessions' groups.
pub const GROUP_DIR: &str = "atelier";

/// The cgroup interface in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// The legacy hierarchies, one per controller (also "hybrid" mode).
    V1,
    /// The unified hierarchy.
    V2,
}

impl Version {
    /// `v1` or `v2`.
    pub fn name(self) -> &'static str {
        match self {
            Version::V1 => "v1",
            Version::V2 => "v2",
        }
    }

    /// The inverse of [`Version::name`].
    pub fn parse(text: &str) -> Option<Version> {
        match text {
            "v1" => Some(Version::V1),
            "v2" => Some(Version::V2),
            _ => None,
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cgroup {}", self.name())
    }
}

/// The cgroup hierarchies this process may create session groups in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cgroups {
    version: Version,
    /// The `atelier` folder under the own memory group (v1) or the own group (v2).
    memory: PathBuf,
    /// v1: the `atelier` folder under the own cpu group; v2: none (same group).
    cpu: Option<PathBuf>,
}

impl Cgroups {
    /// The usable hierarchies, or `None` (see [`Cgroups::try_detect`] for why).
    pub fn detect() -> Option<Cgroups> {
        Self::try_detect().ok()
    }

    /// Finds this process's groups and checks that it may create groups
    /// under them, or says why cgroups cannot be used ([`OsError::CgroupsUnusable`]): not
    /// root, no memory or cpu controller, a read-only mount, and so on.
    pub fn try_detect() -> Result<Cgroups, OsError> {
        Self::detect_reason().map_err(|reason| OsError::CgroupsUnusable { reason })
    }

    fn detect_reason() -> Result<Cgroups, String> {
        if !is_root() {
            return Err("the server does not run as root".to_owned());
        }
        let read =
            |path: &str| fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"));
        let memberships = hierarchy::parse_memberships(&read("/proc/self/cgroup")?);
        let mounts = hierarchy::parse_mounts(&read("/proc/self/mountinfo")?);
        if hierarchy::has_v1_memory(&mounts) {
            let memory = hierarchy::v1_dir(&memberships, &mounts, "memory")?;
            let cpu = hierarchy::v1_dir(&memberships, &mounts, "cpu")?;
            check_own(&memory, "memory.limit_in_bytes")?;
            check_own(&cpu, "cpu.cfs_quota_us")?;
            return Ok(Cgroups {
                version: Version::V1,
                memory: memory.join(GROUP_DIR),
                cpu: Some(cpu.join(GROUP_DIR)),
            });
        }
        let own = hierarchy::v2_dir(&memberships, &mounts)?;
        let offered = read_text(&own.join("cgroup.controllers")).unwrap_or_default();
        let offers = |c: &str| offered.split_whitespace().any(|o| o == c);
        if !(offers("memory") && offers("cpu")) {
            return Err(format!(
                "the cgroup v2 group {} does not offer the memory and cpu controllers",
                own.display()
            ));
        }
        check_own(&own, "cgroup.subtree_control")?;
        enable(&own)?;
        Ok(Cgroups {
            version: Version::V2,
            memory: own.join(GROUP_DIR),
            cpu: None,
        })
    }

    /// The interface in use.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The `atelier` folders that hold the session groups.
    pub fn parents(&self) -> Vec<PathBuf> {
        std::iter::once(self.memory.clone())
            .chain(self.cpu.clone())
            .collect()
    }

    /// Creates the group `atelier/<name>` (in each hierarchy) with `limits`.
    /// `name` is letters, digits, `-` and `_` (a session id). Fails if the
    /// group exists; undoes what it made on failure.
    pub fn create(&self, name: &str, limits: Limits) -> Result<SessionCgroup, OsError> {
        check_name(name)?;
        limits.check()?;
        for parent in self.parents() {
            self.prepare_parent(&parent).map_err(|source| OsError::Fs {
                action: "cannot prepare cgroup",
                path: parent.clone(),
                source,
            })?;
        }
        let group = SessionCgroup::new(
            self.version,
            self.memory.join(name),
            self.cpu.as_ref().map(|cpu| cpu.join(name)),
        );
        let mut made = Vec::new();
        for dir in group.dirs() {
            if let Err(source) = fs::create_dir(&dir) {
                // Only what this call made: the name may belong to a live group.
                for made in &made {
                    let _ = fs::remove_dir(made);
                }
                return Err(fs_error("cannot create cgroup", &dir)(source));
            }
            made.push(dir);
        }
        if let Err(error) = group.apply(limits) {
            let _ = group.remove();
            return Err(error);
        }
        Ok(group)
    }

    /// Creates an `atelier` folder if needed; in v2 enables the controllers
    /// for its children.
    fn prepare_parent(&self, parent: &Path) -> std::io::Result<()> {
        match fs::create_dir(parent) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
        if self.version == Version::V2 {
            enable(parent).map_err(std::io::Error::other)?;
        }
        Ok(())
    }

    /// The existing group `atelier/<name>`, if its memory (v1) or only (v2)
    /// folder is there.
    pub fn find(&self, name: &str) -> Option<SessionCgroup> {
        check_name(name).ok()?;
        let memory = self.memory.join(name);
        let cpu = self.cpu.as_ref().map(|cpu| cpu.join(name));
        memory
            .is_dir()
            .then(|| SessionCgroup::new(self.version, memory, cpu.filter(|c| c.is_dir())))
    }

    /// Removes the groups under `atelier/` that have no process and were
    /// created more than `min_age` ago (left by a crash); returns their names.
    /// The age keeps groups that another launch has just made and not yet joined.
    pub fn remove_empty(&self, min_age: Duration) -> Vec<String> {
        let mut removed = Vec::new();
        for parent in self.parents() {
            for entry in fs::read_dir(&parent).into_iter().flatten().flatten() {
                let path = entry.path();
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .is_some_and(|age| age >= min_age);
                let empty =
                    read_text(&path.join("cgroup.procs")).is_some_and(|p| p.trim().is_empty());
                if path.is_dir() && old && empty && fs::remove_dir(&path).is_ok() {
                    removed.push(entry.file_name().to_string_lossy().into_owned());
                }
            }
        }
        removed.sort();
        removed.dedup();
        removed
    }
}

/// Checks that this process may create groups under its own group `own`
/// and that the controller works there (`probe` exists).
fn check_own(own: &Path, probe: &str) -> Result<(), String> {
    if !own.join(probe).exists() {
        return Err(format!("{} has no {probe}", own.display()));
    }
    if !writable(own) {
        return Err(format!("{} is not writable", own.display()));
    }
    Ok(())
}

/// v2: enables the memory and cpu controllers for the children of `dir`.
fn enable(dir: &Path) -> Result<(), String> {
    let control = dir.join("cgroup.subtree_control");
    let enabled = read_text(&control).unwrap_or_default();
    let missing: Vec<String> = ["memory", "cpu"]
        .iter()
        .filter(|c| !enabled.split_whitespace().any(|e| e == **c))
        .map(|c| format!("+{c}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    write_value(&control, &missing.join(" ")).map_err(|e| {
        format!(
            "cannot enable {} in {}: {e} (the server's group must be delegated \
             to it and hold no other process)",
            missing.join(" "),
            control.display()
        )
    })
}

/// True if this process may write into `dir` (also false on a read-only mount).
fn writable(dir: &Path) -> bool {
    let Ok(path) = CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: path is a valid C string; access has no other precondition.
    unsafe { libc::access(path.as_ptr(), libc::W_OK) == 0 }
}

/// The file-system type of `dir` (`statfs`'s `f_type`), if it can be read.
fn fs_type(dir: &Path) -> Option<i64> {
    let path = CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statfs is a plain C struct for which all-zero bytes are valid.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: path is a valid C string and stat a live, writable struct.
    let rc = unsafe { libc::statfs(path.as_ptr(), &mut stat) };
    #[allow(clippy::unnecessary_cast)] // f_type's width differs between targets.
    (rc == 0).then_some(stat.f_type as i64)
}

/// Refuses names that are not plain folder names.
fn check_name(name: &str) -> Result<(), OsError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(OsError::BadCgroup {
            path: PathBuf::from(name),
            reason: "a group name is 1 to 64 letters, digits, '-' or '_'",
        })
    }
}

/// Reads a small control file.
fn read_text(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok()
}

/// Writes one value to a control file in a single `write`.
fn write_value(path: &Path, value: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = fs::OpenOptions::new().write(true).open(path)?;
    file.write_all(value.as_bytes())
}

/// Builds the error of a failed operation on a cgroup file.
fn fs_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> OsError {
    let path = path.to_owned();
    move |source| OsError::Fs {
        action,
        path,
        source,
    }
}
