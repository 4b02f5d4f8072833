//! Files inside a session folder. The folder belongs to the user, who may
//! replace any file in it with a symlink or a FIFO, so files are opened
//! without following symlinks, without blocking, and only if they are
//! regular. The caller's files (`LaunchSpec::files`) are written before the
//! folder is handed to the user.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// At most this much of the end of a log is read.
const TAIL_BYTES: u64 = 64 * 1024;

/// True if `path` is relative, has only plain components (no `..`, no
/// root), and does not start with one of the `reserved` names.
pub(crate) fn is_plain_relative(path: &Path, reserved: &[&str]) -> bool {
    let mut components = path.components();
    let Some(Component::Normal(first)) = components.next() else {
        return false;
    };
    let first_ok = !reserved.iter().any(|name| first == *name);
    first_ok && components.all(|c| matches!(c, Component::Normal(_)))
}

/// Writes each `(relative path, contents)` into `dir`: new files of mode
/// 0600 in folders of mode 0700, owned by `owner` (uid, gid) if given, with
/// `{dir}` in the contents replaced by `dir` (configuration files need the
/// session folder's absolute path). The paths must have passed
/// [`is_plain_relative`]. On failure, says which path.
pub(crate) fn write_files(
    dir: &Path,
    files: &[(PathBuf, String)],
    owner: Option<(u32, u32)>,
) -> Result<(), (PathBuf, io::Error)> {
    let give = |path: &Path| match owner {
        Some((uid, gid)) => std::os::unix::fs::lchown(path, Some(uid), Some(gid)),
        None => Ok(()),
    };
    for (relative, contents) in files {
        let path = dir.join(relative);
        let mut folder = dir.to_path_buf();
        for component in relative.parent().into_iter().flat_map(Path::components) {
            folder.push(component);
            let made = DirBuilder::new().mode(0o700).create(&folder);
            match made {
                Ok(()) => give(&folder).map_err(|e| (folder.clone(), e))?,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && folder.is_dir() => {}
                Err(e) => return Err((folder, e)),
            }
        }
        let written = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .and_then(|mut file| {
                let filled = contents.replace("{dir}", &dir.to_string_lossy());
                file.write_all(filled.as_bytes())
            })
            .and_then(|()| give(&path));
        written.map_err(|e| (path, e))?;
    }
    Ok(())
}

/// Opens a regular file for reading, refusing symlinks and special files.
pub(crate) fn open_regular(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    Ok(file)
}

/// Reads at most `limit` bytes of a regular file.
pub(crate) fn read_small(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_regular(path)?.take(limit).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The last `lines` lines of the file at `path`, reading at most its last 64 KiB.
pub(crate) fn tail(path: &Path, lines: usize) -> Option<String> {
    let mut file = open_regular(path).ok()?;
    let len = file.metadata().ok()?.len();
    let start = len.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut bytes = Vec::new();
    file.take(TAIL_BYTES).read_to_end(&mut bytes).ok()?;
    Some(last_lines(
        &String::from_utf8_lossy(&bytes),
        lines,
        start > 0,
    ))
}

/// The last `lines` lines of `text`; drops a first line that was cut in half.
fn last_lines(text: &str, lines: usize, cut: bool) -> String {
    let text = text.strip_suffix('\n').unwrap_or(text);
    let mut all: Vec<&str> = text.split('\n').collect();
    if cut && all.len() > 1 {
        all.remove(0);
    }
    if text.is_empty() {
        return String::new();
    }
    let keep = &all[all.len().saturating_sub(lines)..];
    let mut out = keep.join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_lines_keeps_the_end() {
        assert_eq!(last_lines("a\nb\nc\n", 2, false), "b\nc\n");
        assert_eq!(last_lines("a\nb\nc", 5, false), "a\nb\nc\n");
        assert_eq!(last_lines("half\nb\nc\n", 5, true), "b\nc\n");
        assert_eq!(last_lines("", 5, false), "");
    }

    #[test]
    fn tail_reads_only_the_end_of_a_big_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("ide.log");
        let body: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&log, body).unwrap();
        assert_eq!(tail(&log, 2).unwrap(), "line 19998\nline 19999\n");
        let many = tail(&log, 100_000).unwrap();
        assert!(many.len() <= TAIL_BYTES as usize);
        assert!(many.starts_with("line ") && many.ends_with("line 19999\n"));
    }

    #[test]
    fn only_plain_relative_paths_pass() {
        let reserved = ["ide.log", "exit.json"];
        for good in [
            "k/kernel.json",
            "a",
            "jupyter/kernels/py3/kernel.json",
            "x/ide.log",
        ] {
            assert!(is_plain_relative(Path::new(good), &reserved), "{good}");
        }
        for bad in [
            "",
            "/etc/x",
            "../x",
            "a/../../x",
            "ide.log",
            "exit.json",
            "./ide.log",
        ] {
            assert!(!is_plain_relative(Path::new(bad), &reserved), "{bad}");
        }
    }

    #[test]
    fn files_are_written_private_with_their_folders() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let files = vec![
            (PathBuf::from("j/k/kernel.json"), "{}".to_owned()),
            (PathBuf::from("j/other"), "x".to_owned()),
        ];
        write_files(dir.path(), &files, None).unwrap();
        let mode = |p: &str| std::fs::metadata(dir.path().join(p)).unwrap().mode() & 0o777;
        assert_eq!(
            (mode("j"), mode("j/k"), mode("j/k/kernel.json")),
            (0o700, 0o700, 0o600)
        );
        let text = std::fs::read_to_string(dir.path().join("j/k/kernel.json")).unwrap();
        assert_eq!(text, "{}");
        let (path, error) = write_files(dir.path(), &files[..1], None).unwrap_err();
        assert_eq!(path, dir.path().join("j/k/kernel.json"));
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
    }

    #[test]
    fn symlinks_and_fifos_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("ide.log");
        std::os::unix::fs::symlink("/etc/passwd", &link).unwrap();
        assert!(tail(&link, 10).is_none(), "a symlink must not be followed");
        let fifo = dir.path().join("exit.json");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        assert!(
            read_small(&fifo, 100).is_err(),
            "a FIFO must be refused without blocking"
        );
    }
}
