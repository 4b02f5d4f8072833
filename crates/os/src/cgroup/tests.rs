//! Real cgroups on this machine (cgroup v1, hybrid): limits that bite, OOM
//! kills that are counted, members, kills and removal; joining through the
//! spawn hook as `nobody`. Needs root (skips otherwise).

use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::*;
use crate::spawn::{as_user_confined, Confine};
use crate::Account;

/// The tests share the `atelier` folders and remove them at the end: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Root, `nobody` and the detected hierarchies; `None` (skip) when not root.
fn setup() -> Option<(Cgroups, Account)> {
    if !is_root() {
        eprintln!("skipped: creating cgroups and switching to nobody needs root");
        return None;
    }
    let cgroups = Cgroups::try_detect().expect("cgroups are usable as root on this machine");
    let nobody = Account::lookup("nobody")
        .unwrap()
        .expect("Debian has nobody");
    Some((cgroups, nobody))
}

/// A group name unique to this test run.
fn name(tag: &str) -> String {
    format!("test-{}-{tag}", std::process::id())
}

/// Removes the `atelier` folders if nothing else uses them.
fn tidy(cgroups: &Cgroups) {
    for parent in cgroups.parents() {
        let _ = fs::remove_dir(parent);
    }
}

/// Starts `program args` as `account` inside `group`.
fn spawn_in(group: &SessionCgroup, account: &Account, program: &str, args: &[&str]) -> Child {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .current_dir("/")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let confine = Confine {
        cgroup_procs: group.procs_files(),
        address_space: None,
    };
    as_user_confined(&mut cmd, account, &confine).unwrap();
    cmd.spawn().unwrap()
}

/// utime + stime of `pid` in clock ticks (fields 14 and 15 of `/proc/<pid>/stat`).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn a_process_over_its_memory_limit_is_killed_and_counted() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some((cgroups, nobody)) = setup() else {
        return;
    };
    assert_eq!(
        cgroups.version(),
        Version::V1,
        "this machine kind has cgroup v1"
    );
    let limits = Limits {
        cpus: None,
        memory: Some(50 << 20),
    };
    let group = cgroups.create(&name("oom"), limits).unwrap();
    assert_eq!(group.memory_limit(), Some(50 << 20));
    assert_eq!(group.oom_kills(), 0);

    let python = "b = bytearray(200*1024*1024)";
    let child = spawn_in(&group, &nobody, "/usr/bin/python3", &["-c", python]);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGKILL), "{out:?}");
    assert!(group.oom_kills() >= 1, "the kill was not counted");
    assert!(
        group.oom_count_is_exact(),
        "this kernel has the oom_kill counter"
    );

    assert_eq!(group.members(), Vec::<i32>::new());
    group.remove().unwrap();
    assert!(group.dirs().iter().all(|d| !d.exists()));
    tidy(&cgroups);
}

#[test]
fn a_fifth_of_a_cpu_is_about_a_fifth_and_kill_all_empties_the_group() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some((cgroups, nobody)) = setup() else {
        return;
    };
    let limits = Limits {
        cpus: Some(0.2),
        memory: None,
    };
    let group = cgroups.create(&name("cpu"), limits).unwrap();
    assert_eq!(group.memory_limit(), None);
    let quota = fs::read_to_string(group.dirs()[1].join("cpu.cfs_quota_us")).unwrap();
    assert_eq!(quota.trim(), "20000");

    let mut child = spawn_in(&group, &nobody, "/bin/sh", &["-c", "while :; do :; done"]);
    let pid = child.id();
    assert_eq!(group.members(), vec![pid as i32], "joined before exec");
    let own = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let expected = format!("/{GROUP_DIR}/{}", name("cpu"));
    assert!(
        own.lines().filter(|l| l.ends_with(&expected)).count() >= 2,
        "memory and cpu groups: {own}"
    );

    let (start, ticks) = (Instant::now(), cpu_ticks(pid));
    std::thread::sleep(Duration::from_secs(1));
    let used = (cpu_ticks(pid) - ticks) as f64 / clock_ticks_per_second();
    let share = used / start.elapsed().as_secs_f64();
    assert!(share <= 0.35, "0.2 CPU allowed, {share:.2} used");
    assert!(share >= 0.05, "the loop hardly ran: {share:.2}");

    group.kill_all(Duration::from_secs(5)).unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
    assert_eq!(group.members(), Vec::<i32>::new());
    group.remove().unwrap();
    assert!(group.dirs().iter().all(|d| !d.exists()));
    tidy(&cgroups);
}

/// `sysconf(_SC_CLK_TCK)`.
fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}

#[test]
fn groups_are_found_again_and_names_are_checked() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some((cgroups, _)) = setup() else { return };
    let group = cgroups.create(&name("find"), Limits::default()).unwrap();
    assert!(
        cgroups.create(&name("find"), Limits::default()).is_err(),
        "an existing group is not reused"
    );
    assert!(
        group.dirs().iter().all(|d| d.is_dir()),
        "the failed create removed nothing"
    );
    assert_eq!(cgroups.find(&name("find")), Some(group.clone()));
    let adopted = SessionCgroup::adopt(Version::V1, &group.dirs(), &name("find")).unwrap();
    assert_eq!(adopted, group);
    assert!(SessionCgroup::adopt(Version::V2, &group.dirs(), &name("find")).is_err());
    assert!(SessionCgroup::adopt(Version::V1, &group.dirs(), &name("other")).is_err());
    for bad in ["", "../x", "a/b", ".", &"x".repeat(65)] {
        assert!(cgroups.create(bad, Limits::default()).is_err(), "{bad:?}");
        assert_eq!(cgroups.find(bad), None);
    }

    // remove_empty: only groups that are empty and old enough go.
    let fresh = cgroups.create(&name("fresh"), Limits::default()).unwrap();
    for dir in group.dirs() {
        let status = Command::new("touch")
            .args(["-d", "2020-01-01"])
            .arg(&dir)
            .status();
        assert!(status.unwrap().success());
    }
    let removed = cgroups.remove_empty(Duration::from_secs(60));
    assert!(removed.contains(&name("find")), "{removed:?}");
    assert!(!removed.contains(&name("fresh")), "{removed:?}");
    assert!(group.dirs().iter().all(|d| !d.exists()));
    fresh.remove().unwrap();
    tidy(&cgroups);
}

#[test]
fn folders_outside_a_cgroup_file_system_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join(GROUP_DIR).join("abc");
    fs::create_dir_all(&fake).unwrap();
    for version in [Version::V1, Version::V2] {
        let error = SessionCgroup::adopt(version, std::slice::from_ref(&fake), "abc").unwrap_err();
        assert!(matches!(error, OsError::BadCgroup { .. }), "{error}");
    }
    let dotted = PathBuf::from("/sys/fs/cgroup/memory/x/../atelier/abc");
    assert!(SessionCgroup::adopt(Version::V1, &[dotted], "abc").is_err());
    assert!(SessionCgroup::adopt(Version::V1, &[], "abc").is_err());
    assert_eq!(Version::parse(Version::V2.name()), Some(Version::V2));
    assert_eq!(Version::V1.to_string(), "cgroup v1");
}

/// Writing `0` to `cgroup.procs` joins in v2 as well: checked on the hybrid
/// machine's unified hierarchy, which has no controllers but takes members,
/// and `cgroup.kill` empties it.
#[test]
fn joining_with_zero_and_cgroup_kill_work_in_v2() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some((_, nobody)) = setup() else { return };
    let memberships =
        hierarchy::parse_memberships(&fs::read_to_string("/proc/self/cgroup").unwrap());
    let mounts = hierarchy::parse_mounts(&fs::read_to_string("/proc/self/mountinfo").unwrap());
    let own = hierarchy::v2_dir(&memberships, &mounts).expect("a unified hierarchy is mounted");
    let parent = own.join(GROUP_DIR);
    let _ = fs::create_dir(&parent);
    let dir = parent.join(name("v2"));
    fs::create_dir(&dir).unwrap();
    let group = SessionCgroup::adopt(Version::V2, std::slice::from_ref(&dir), &name("v2")).unwrap();

    let mut child = spawn_in(&group, &nobody, "/bin/sleep", &["30"]);
    let pid = child.id();
    assert_eq!(group.members(), vec![pid as i32]);
    let own_line = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let expected = format!("/{GROUP_DIR}/{}", name("v2"));
    assert!(
        own_line
            .lines()
            .any(|l| l.starts_with("0::") && l.ends_with(&expected)),
        "{own_line}"
    );
    group.kill_all(Duration::from_secs(5)).unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
    group.remove().unwrap();
    assert!(!dir.exists());
    let _ = fs::remove_dir(&parent);
}
