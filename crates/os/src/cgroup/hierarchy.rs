//! Where this process sits in the cgroup hierarchies: `/proc/self/cgroup`
//! (which group, per hierarchy) joined with `/proc/self/mountinfo` (where each
//! hierarchy is mounted, and which part of it the mount shows).
//!
//! Pure parsing, so it is tested on text; `super::detect` does the IO.

use std::path::{Path, PathBuf};

/// One line of `/proc/self/cgroup`: `ID:CONTROLLERS:PATH`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Membership {
    /// The hierarchy id; 0 is the unified (v2) hierarchy.
    id: u32,
    /// The v1 controllers of the hierarchy (empty for v2), e.g. `cpu`, `cpuacct`.
    controllers: Vec<String>,
    /// The group's path inside its hierarchy, e.g. `/process_api/82bd…`.
    path: String,
}

/// A mounted cgroup file system, from one line of `/proc/self/mountinfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Mount {
    /// The part of the hierarchy the mount shows (`/` unless bind-mounted).
    root: String,
    /// Where it is mounted.
    point: PathBuf,
    /// True for `cgroup2`, false for `cgroup`.
    unified: bool,
    /// Super-block options: for v1 they name the controllers.
    options: Vec<String>,
}

/// Parses `/proc/self/cgroup`; malformed lines are skipped.
pub(super) fn parse_memberships(text: &str) -> Vec<Membership> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let id = parts.next()?.parse().ok()?;
            let controllers = parts.next()?;
            let path = parts.next()?.to_owned();
            let controllers = controllers
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect();
            Some(Membership {
                id,
                controllers,
                path,
            })
        })
        .collect()
}

/// Parses the cgroup mounts of `/proc/self/mountinfo`.
pub(super) fn parse_mounts(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (head, tail) = line.split_once(" - ")?;
            let head: Vec<&str> = head.split(' ').collect();
            let mut tail = tail.split(' ');
            let unified = match tail.next()? {
                "cgroup" => false,
                "cgroup2" => true,
                _ => return None,
            };
            let options = tail.nth(1).unwrap_or_default();
            Some(Mount {
                root: unescape(head.get(3)?),
                point: PathBuf::from(unescape(head.get(4)?)),
                unified,
                options: options.split(',').map(str::to_owned).collect(),
            })
        })
        .collect()
}

/// Undoes mountinfo's octal escapes (`\040` for a space, and so on).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|digits| {
            let text = std::str::from_utf8(digits).ok()?;
            u8::from_str_radix(text, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The folder of this process's group in the v1 hierarchy of `controller`.
pub(super) fn v1_dir(
    memberships: &[Membership],
    mounts: &[Mount],
    controller: &str,
) -> Result<PathBuf, String> {
    let has = |list: &[String]| list.iter().any(|c| c == controller);
    let member = memberships
        .iter()
        .find(|m| m.id != 0 && has(&m.controllers))
        .ok_or_else(|| format!("this process is in no cgroup v1 {controller} hierarchy"))?;
    let mount = mounts
        .iter()
        .find(|m| !m.unified && has(&m.options))
        .ok_or_else(|| format!("the cgroup v1 {controller} controller is not mounted"))?;
    join(mount, &member.path)
        .ok_or_else(|| format!("this process's {controller} cgroup is outside the mounted part"))
}

/// The folder of this process's group in the unified (v2) hierarchy.
pub(super) fn v2_dir(memberships: &[Membership], mounts: &[Mount]) -> Result<PathBuf, String> {
    let member = memberships
        .iter()
        .find(|m| m.id == 0)
        .ok_or("this process is in no cgroup v2 group")?;
    let mount = mounts
        .iter()
        .find(|m| m.unified)
        .ok_or("no cgroup v2 file system is mounted")?;
    join(mount, &member.path)
        .ok_or_else(|| "this process's cgroup is outside the mounted part".to_owned())
}

/// True if some v1 hierarchy is mounted with the memory controller: then
/// memory is not available in the unified hierarchy (hybrid or legacy mode).
pub(super) fn has_v1_memory(mounts: &[Mount]) -> bool {
    mounts
        .iter()
        .any(|m| !m.unified && m.options.iter().any(|o| o == "memory"))
}

/// The folder of `path` (a group path) under `mount`, if the mount shows it.
fn join(mount: &Mount, path: &str) -> Option<PathBuf> {
    let root = mount.root.trim_end_matches('/');
    let inside = path.strip_prefix(root)?;
    if !(inside.is_empty() || inside.starts_with('/')) {
        return None;
    }
    let relative = Path::new(inside.trim_start_matches('/'));
    let normal = relative
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    normal.then(|| mount.point.join(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_CGROUP: &str = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/82bd\n\
                                 2:cpu,cpuacct:/\n0::/\n";
    const HYBRID_MOUNTS: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn v1_folders_join_the_mount_and_the_group_path() {
        let members = parse_memberships(HYBRID_CGROUP);
        let mounts = parse_mounts(HYBRID_MOUNTS);
        assert_eq!(mounts.len(), 3, "the tmpfs is not a cgroup mount");
        assert!(has_v1_memory(&mounts));
        assert_eq!(
            v1_dir(&members, &mounts, "memory").unwrap(),
            PathBuf::from("/sys/fs/cgroup/memory/process_api/82bd")
        );
        assert_eq!(
            v1_dir(&members, &mounts, "cpu").unwrap(),
            PathBuf::from("/sys/fs/cgroup/cpu,cpuacct")
        );
        assert!(v1_dir(&members, &mounts, "freezer").is_err());
        assert_eq!(
            v2_dir(&members, &mounts).unwrap(),
            PathBuf::from("/sys/fs/cgroup/unified")
        );
    }

    #[test]
    fn unified_only_machines_use_the_zero_line() {
        let members = parse_memberships("0::/user.slice/atelier.service\n");
        let mounts =
            parse_mounts("30 23 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
        assert!(!has_v1_memory(&mounts));
        assert_eq!(
            v2_dir(&members, &mounts).unwrap(),
            PathBuf::from("/sys/fs/cgroup/user.slice/atelier.service")
        );
        assert!(v1_dir(&members, &mounts, "memory").is_err());
    }

    #[test]
    fn a_bind_mounted_subtree_is_stripped_and_outside_paths_are_refused() {
        let mounts = parse_mounts(
            "35 31 0:32 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n",
        );
        let inside = parse_memberships("4:memory:/docker/abc/x\n");
        assert_eq!(
            v1_dir(&inside, &mounts, "memory").unwrap(),
            PathBuf::from("/sys/fs/cgroup/memory/x")
        );
        for outside in ["4:memory:/other\n", "4:memory:/docker/abcd\n"] {
            let members = parse_memberships(outside);
            assert!(v1_dir(&members, &mounts, "memory").is_err(), "{outside}");
        }
        let dotted = parse_memberships("4:memory:/docker/abc/../../x\n");
        assert!(v1_dir(&dotted, &mounts, "memory").is_err());
    }

    #[test]
    fn octal_escapes_are_undone() {
        assert_eq!(unescape(r"/a\040b"), "/a b");
        assert_eq!(unescape(r"/a\x"), r"/a\x");
        assert_eq!(unescape("/plain"), "/plain");
    }
}
