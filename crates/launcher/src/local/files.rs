//! Reading files inside a session folder. The folder belongs to the user, who
//! may replace any file in it with a symlink or a FIFO, so files are opened
//! without following symlinks, without blocking, and only if they are regular.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// At most this much of the end of a log is read.
const TAIL_BYTES: u64 = 64 * 1024;

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
