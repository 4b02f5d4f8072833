//! The data folder's expected shape: every entry Atelier writes, with the
//! type, mode and owner it must have. Anything not in the table is a finding.

use std::collections::HashMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// What one entry must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    File,
    Socket,
}

/// One entry found in the data folder.
#[derive(Debug)]
pub(crate) struct Entry {
    /// Its path.
    pub(crate) path: PathBuf,
    /// Permission bits (with setuid/setgid/sticky).
    pub(crate) mode: u32,
    /// Owner uid.
    pub(crate) uid: u32,
    /// Whether it is a regular file.
    pub(crate) is_file: bool,
}

/// Every entry under `root` (itself included), depth first, not following
/// symlinks.
pub(crate) fn walk(root: &Path) -> Vec<Entry> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(path) = pending.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue; // removed while we walked (a temporary file)
        };
        if meta.is_dir() {
            if let Ok(children) = std::fs::read_dir(&path) {
                pending.extend(children.flatten().map(|child| child.path()));
            }
        }
        found.push(Entry {
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            is_file: meta.is_file(),
            path,
        });
    }
    found
}

/// Checks every entry of `data_dir` against the table; `owners` maps each
/// session or job id to its user's uid. Returns one line per finding.
pub(crate) fn findings(data_dir: &Path, owners: &HashMap<String, u32>) -> Vec<String> {
    let mut problems = Vec::new();
    for entry in walk(data_dir) {
        let Ok(relative) = entry.path.strip_prefix(data_dir) else {
            continue;
        };
        let parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        let Some((kind, mode, uid)) = expected(&parts, owners) else {
            problems.push(format!(
                "unexpected entry {} (mode {:o}, uid {})",
                entry.path.display(),
                entry.mode,
                entry.uid
            ));
            continue;
        };
        let meta = std::fs::symlink_metadata(&entry.path);
        let actual_kind = meta.as_ref().ok().map(|m| {
            let t = m.file_type();
            if t.is_dir() {
                Some(Kind::Dir)
            } else if t.is_file() {
                Some(Kind::File)
            } else if t.is_socket() {
                Some(Kind::Socket)
            } else {
                None
            }
        });
        if let Some(actual_kind) = actual_kind {
            if actual_kind != Some(kind) || entry.mode != mode || entry.uid != uid {
                problems.push(format!(
                    "{}: {actual_kind:?} mode {:o} uid {}, expected {kind:?} mode {mode:o} uid {uid}",
                    entry.path.display(),
                    entry.mode,
                    entry.uid
                ));
            }
        }
    }
    problems
}

/// The table: (type, mode, owner) for a path relative to the data folder.
fn expected(parts: &[&str], owners: &HashMap<String, u32>) -> Option<(Kind, u32, u32)> {
    const ROOT: u32 = 0;
    match parts {
        [] | ["sessions"] => Some((Kind::Dir, 0o711, ROOT)),
        ["atelier.db" | "atelier.db-wal" | "atelier.db-shm" | "users"] => {
            Some((Kind::File, 0o600, ROOT))
        }
        ["sessions", id] => Some((Kind::Dir, 0o700, *owners.get(*id)?)),
        ["sessions", id, "ide.sock"] => Some((Kind::Socket, 0o600, *owners.get(*id)?)),
        ["sessions", id, "ide.log" | "exit.json" | "supervisor.log" | "stdout.log" | "stderr.log" | "output.log"] => {
            Some((Kind::File, 0o600, *owners.get(*id)?))
        }
        // Jupyter kernelspecs: jupyter/kernels/<name>/kernel.json.
        ["sessions", id, "jupyter"] | ["sessions", id, "jupyter", "kernels"] => {
            Some((Kind::Dir, 0o700, *owners.get(*id)?))
        }
        ["sessions", id, "jupyter", "kernels", _] => Some((Kind::Dir, 0o700, *owners.get(*id)?)),
        ["sessions", id, "jupyter", "kernels", _, "kernel.json"] => {
            Some((Kind::File, 0o600, *owners.get(*id)?))
        }
        _ => None,
    }
}
