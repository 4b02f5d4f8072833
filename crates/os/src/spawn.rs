//! Starting a program as another Linux account.
//!
//! [`as_user`] installs a `pre_exec` hook that runs in the forked child just
//! before `exec`: it starts a new session (`setsid`, so the child and its
//! descendants outlive the server and form one process group), joins the
//! session's cgroups and lowers its address-space limit if asked
//! ([`Confine`], while still root), switches to the account's groups and
//! ids, sets `umask 077`, and checks the switch took.
//!
//! Between `fork` and `exec` of a multi-threaded program only
//! async-signal-safe calls are allowed, so everything that allocates or reads
//! the group database happens before the fork: the supplementary group list
//! comes from `getgrouplist` (what `initgroups` does internally), the
//! cgroup paths are C strings already, and the child only calls `open`,
//! `write`, `close`, `getrlimit`, `setrlimit`, `setgroups`, `setgid`,
//! `setuid`, `umask` and `get*id`.
//! `Command::uid()/gid()` are not used: they drop the supplementary groups.
#![allow(unsafe_code)] // pre_exec, getgrouplist and the set*id calls are unsafe FFI.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use crate::{is_root, Account, OsError};

/// Upper bound on supplementary groups we ask `getgrouplist` for.
const MAX_GROUPS: usize = 65536;

/// What else the child does before it runs the program, while still root.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Confine {
    /// `cgroup.procs` files the child writes `0` to, joining those groups
    /// before it execs, so the program and all it starts are inside (see
    /// [`crate::cgroup::SessionCgroup::procs_files`]).
    pub cgroup_procs: Vec<PathBuf>,
    /// An address-space limit (`RLIMIT_AS`) in bytes, inherited by every
    /// descendant. Only ever lowers the current soft and hard limits.
    pub address_space: Option<u64>,
}

/// Makes `cmd` run as `account`, in a new session, with `umask 077`.
///
/// When this process is root, the child switches to the account's uid, gid
/// and supplementary groups. When it is not root, the account must be this
/// process's own; the child then only gets `setsid` and the umask. For a
/// `tokio::process::Command`, pass `cmd.as_std_mut()`.
pub fn as_user(cmd: &mut Command, account: &Account) -> Result<(), OsError> {
    as_user_confined(cmd, account, &Confine::default())
}

/// [`as_user`], and before the switch the child joins `confine`'s cgroups
/// and lowers its address-space limit. Joining a cgroup needs root.
pub fn as_user_confined(
    cmd: &mut Command,
    account: &Account,
    confine: &Confine,
) -> Result<(), OsError> {
    let mut plan = Plan::for_account(account)?;
    plan.join = confine
        .cgroup_procs
        .iter()
        .map(|path| {
            CString::new(path.as_os_str().as_bytes()).map_err(|_| OsError::BadCgroup {
                path: path.clone(),
                reason: "a path with a NUL byte",
            })
        })
        .collect::<Result<_, _>>()?;
    plan.address_space = confine.address_space;
    // SAFETY: the hook only calls async-signal-safe functions (setsid, open,
    // write, close, getrlimit, setrlimit, setgroups, setgid, setuid, umask,
    // getuid, geteuid, getgid) on data that was fully prepared, and is only
    // read, in the child.
    unsafe { cmd.pre_exec(move || plan.apply()) };
    Ok(())
}

/// What the child does after the fork, computed before it.
struct Plan {
    /// `cgroup.procs` files to write `0` to.
    join: Vec<CString>,
    /// `RLIMIT_AS` to lower to, in bytes.
    address_space: Option<u64>,
    /// Groups to switch to, or `None` to keep the current credentials.
    switch: Option<Vec<libc::gid_t>>,
    /// The expected uid.
    uid: libc::uid_t,
    /// The expected primary gid.
    gid: libc::gid_t,
}

impl Plan {
    fn for_account(account: &Account) -> Result<Plan, OsError> {
        let (uid, gid) = (account.uid, account.gid);
        if is_root() {
            let groups = group_list(&account.name, gid)?;
            return Ok(Plan {
                join: Vec::new(),
                address_space: None,
                switch: Some(groups),
                uid,
                gid,
            });
        }
        // SAFETY: geteuid/getegid have no preconditions and cannot fail.
        let (my_uid, my_gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        if my_uid != uid {
            return Err(OsError::NotPermitted {
                name: account.name.clone(),
                uid,
            });
        }
        Ok(Plan {
            join: Vec::new(),
            address_space: None,
            switch: None,
            uid,
            gid: my_gid,
        })
    }

    /// Runs in the child between fork and exec: no allocation here.
    fn apply(&self) -> io::Result<()> {
        // SAFETY: every call below is async-signal-safe and only reads
        // memory owned by `self`, which the child has a copy of.
        unsafe {
            check(libc::setsid())?;
            for procs in &self.join {
                join_cgroup(procs)?;
            }
            if let Some(bytes) = self.address_space {
                lower_address_space(bytes)?;
            }
            if let Some(groups) = &self.switch {
                check(libc::setgroups(groups.len(), groups.as_ptr()))?;
                check(libc::setgid(self.gid))?;
                check(libc::setuid(self.uid))?;
            }
            libc::umask(0o077);
            let switched = libc::getuid() == self.uid
                && libc::geteuid() == self.uid
                && libc::getgid() == self.gid;
            if !switched {
                return Err(io::Error::from_raw_os_error(libc::EPERM));
            }
        }
        Ok(())
    }
}

/// Moves the calling process into the cgroup of `procs` (its `cgroup.procs`
/// file) by writing `0`. Runs between fork and exec: no allocation.
///
/// # Safety
/// Only async-signal-safe calls; `procs` is a valid C string.
unsafe fn join_cgroup(procs: &std::ffi::CStr) -> io::Result<()> {
    // SAFETY: procs is a valid C string; the flags need nothing else.
    let fd = unsafe { libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is open; the buffer is one static byte.
    let written = unsafe { libc::write(fd, b"0".as_ptr().cast(), 1) };
    let error = io::Error::last_os_error();
    // SAFETY: fd is open and closed once.
    unsafe { libc::close(fd) };
    if written == 1 {
        Ok(())
    } else {
        Err(error)
    }
}

/// Lowers the soft and hard `RLIMIT_AS` to at most `bytes` (never raises).
///
/// # Safety
/// Only async-signal-safe calls.
unsafe fn lower_address_space(bytes: u64) -> io::Result<()> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: limit is a live, writable struct.
    check(unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) })?;
    limit.rlim_cur = limit.rlim_cur.min(bytes);
    limit.rlim_max = limit.rlim_max.min(bytes);
    // SAFETY: limit is a live struct.
    check(unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) })
}

/// Maps a `-1` return to the current OS error.
fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The account's groups: `gid` plus every group that lists `name` as a member.
fn group_list(name: &str, gid: u32) -> Result<Vec<libc::gid_t>, OsError> {
    let c_name = CString::new(name).map_err(|_| OsError::InvalidName {
        name: name.to_owned(),
    })?;
    let mut groups: Vec<libc::gid_t> = vec![0; 32];
    loop {
        let mut count = groups.len() as libc::c_int;
        // SAFETY: c_name is a valid C string; groups has room for `count`
        // entries and count is a live, writable int.
        let rc =
            unsafe { libc::getgrouplist(c_name.as_ptr(), gid, groups.as_mut_ptr(), &mut count) };
        let count = usize::try_from(count).unwrap_or(0);
        if rc >= 0 {
            groups.truncate(count);
            return Ok(groups);
        }
        if count <= groups.len() || count > MAX_GROUPS {
            let source = io::Error::other("getgrouplist failed");
            return Err(OsError::Lookup {
                name: name.to_owned(),
                source,
            });
        }
        groups.resize(count, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::ProcessInfo;

    fn nobody() -> Option<Account> {
        if !is_root() {
            eprintln!("skipped: switching to nobody needs root");
            return None;
        }
        Some(
            Account::lookup("nobody")
                .unwrap()
                .expect("Debian has nobody"),
        )
    }

    fn output_as(account: &Account, program: &str, args: &[&str]) -> String {
        let mut cmd = Command::new(program);
        cmd.args(args).env_clear().current_dir("/");
        as_user(&mut cmd, account).unwrap();
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{program} failed: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn id_as_nobody_shows_its_uid_and_only_its_groups() {
        let Some(nobody) = nobody() else { return };
        let id = output_as(&nobody, "/usr/bin/id", &[]);
        assert_eq!(
            id.trim(),
            "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)"
        );
    }

    #[test]
    fn supplementary_groups_are_kept() {
        let Some(_) = nobody() else { return };
        // postgres is listed as a member of ssl-cert on this machine kind.
        let Some(postgres) = Account::lookup("postgres").unwrap() else {
            return;
        };
        let groups = output_as(&postgres, "/usr/bin/id", &["-Gn"]);
        assert!(
            groups.split_whitespace().any(|g| g == "ssl-cert"),
            "{groups}"
        );
        assert_eq!(
            group_list("postgres", postgres.gid).unwrap()[0],
            postgres.gid
        );
    }

    #[test]
    fn the_umask_is_077() {
        let Some(nobody) = nobody() else { return };
        assert_eq!(
            output_as(&nobody, "/bin/sh", &["-c", "umask"]).trim(),
            "0077"
        );
    }

    #[test]
    fn the_child_leads_its_own_session_and_group() {
        let Some(nobody) = nobody() else { return };
        let mut cmd = Command::new("/bin/sleep");
        cmd.arg("30").env_clear().current_dir("/");
        as_user(&mut cmd, &nobody).unwrap();
        let mut child = cmd.spawn().unwrap();
        let pid = child.id() as i32;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let info = loop {
            // Until exec, the child still carries root's uid in /proc.
            let info = ProcessInfo::read(pid).unwrap();
            if info.uid == 65534 || std::time::Instant::now() > deadline {
                break info;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!((info.pgid, info.sid, info.uid), (pid, pid, 65534));
    }

    #[test]
    fn the_address_space_limit_stops_a_big_allocation() {
        let Some(nobody) = nobody() else { return };
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.args(["-c", "b = bytearray(300*1024*1024)"])
            .env_clear()
            .current_dir("/");
        let confine = Confine {
            cgroup_procs: Vec::new(),
            address_space: Some(150 << 20),
        };
        as_user_confined(&mut cmd, &nobody, &confine).unwrap();
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("MemoryError"),
            "{out:?}"
        );
        let limit = output_as_confined(&nobody, &confine, &["-c", "ulimit -v; ulimit -H -v"]);
        assert_eq!(limit, "153600\n153600\n", "soft and hard limits, in KiB");
    }

    #[test]
    fn a_missing_cgroup_file_fails_the_spawn() {
        let Some(nobody) = nobody() else { return };
        let confine = Confine {
            cgroup_procs: vec!["/nonexistent/cgroup.procs".into()],
            address_space: None,
        };
        let mut cmd = Command::new("/bin/true");
        cmd.env_clear().current_dir("/");
        as_user_confined(&mut cmd, &nobody, &confine).unwrap();
        let error = cmd.status().unwrap_err();
        assert_eq!(error.raw_os_error(), Some(libc::ENOENT), "{error}");
    }

    fn output_as_confined(account: &Account, confine: &Confine, args: &[&str]) -> String {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(args).env_clear().current_dir("/");
        as_user_confined(&mut cmd, account, confine).unwrap();
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn own_account_needs_no_privilege() {
        let me = Account::current().unwrap();
        let out = output_as(&me, "/usr/bin/id", &["-u"]);
        assert_eq!(out.trim(), me.uid.to_string());
    }
}
