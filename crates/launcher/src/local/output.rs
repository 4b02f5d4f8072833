//! Reading the output files of a split-output session (a job). The folder
//! belongs to the user, so a file is opened without following symlinks and
//! without blocking, and read only if it is a regular file of the session's
//! user.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use atelier_core::SessionId;

use super::files;
use crate::output::{COMBINED_FILE, LOG_FILE, SUPERVISOR_LOG_FILE};
use crate::{LaunchError, OutputChunk, OutputMode};

/// The most one read returns, whatever the caller asks.
pub(crate) const MAX_READ: usize = 4 << 20;

/// Reads at most `max` bytes (and at most [`MAX_READ`]) of the file at
/// `path` from `offset`, but not past the length it had when opened. A
/// missing file is an empty chunk at offset 0. With `uid`, the file must
/// belong to that user (a hard link to another's file is refused).
pub(crate) fn read(
    session: &SessionId,
    path: &Path,
    uid: Option<u32>,
    offset: u64,
    max: usize,
) -> Result<OutputChunk, LaunchError> {
    let io_error = |action, source| LaunchError::Io {
        session: session.clone(),
        action,
        path: path.to_owned(),
        source,
    };
    let unsafe_file = |reason| LaunchError::UnsafeFile {
        session: session.clone(),
        path: path.to_owned(),
        reason,
    };
    let file = match open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(OutputChunk::default()),
        Err(error) if error.raw_os_error() == Some(libc::ELOOP) => {
            return Err(unsafe_file("a symlink"))
        }
        Err(error) => return Err(io_error("cannot open", error)),
    };
    let meta = file
        .metadata()
        .map_err(|error| io_error("cannot inspect", error))?;
    if !meta.is_file() {
        return Err(unsafe_file("not a regular file"));
    }
    if uid.is_some_and(|uid| meta.uid() != uid) {
        return Err(unsafe_file("not owned by the session's user"));
    }
    let size = meta.len();
    let want = size.saturating_sub(offset).min(max.min(MAX_READ) as u64) as usize;
    let data = read_at(&file, offset, want).map_err(|error| io_error("cannot read", error))?;
    Ok(OutputChunk {
        next_offset: offset + data.len() as u64,
        data,
        size,
    })
}

/// Opens for reading: no symlink followed, no blocking on a FIFO.
fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// Reads up to `len` bytes at `offset`; fewer if the file ends first.
fn read_at(file: &File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut data = vec![0; len];
    let mut filled = 0;
    while filled < len {
        match file.read_at(&mut data[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    data.truncate(filled);
    Ok(data)
}

/// The log tail of the session in `dir`: the last `lines` lines of
/// `ide.log`, or for a split-output session the last `lines` lines of its
/// combined output, then of the supervisor's log (which says how it ended).
/// `None` when nothing can be read.
pub(crate) fn tail(dir: &Path, mode: OutputMode, lines: usize) -> Option<String> {
    if mode == OutputMode::Log {
        return files::tail(&dir.join(LOG_FILE), lines);
    }
    let output = files::tail(&dir.join(COMBINED_FILE), lines);
    let supervisor = files::tail(&dir.join(SUPERVISOR_LOG_FILE), lines);
    match (output, supervisor) {
        (None, None) => None,
        (output, supervisor) => Some(output.unwrap_or_default() + &supervisor.unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> SessionId {
        SessionId::generate()
    }

    #[test]
    fn reads_from_any_offset_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("output.log");
        std::fs::write(&path, b"0123456789").unwrap();
        let chunk = read(&id(), &path, None, 3, 4).unwrap();
        assert_eq!(
            (chunk.data.as_slice(), chunk.next_offset, chunk.size),
            (&b"3456"[..], 7, 10)
        );
        let rest = read(&id(), &path, None, 7, 100).unwrap();
        assert_eq!((rest.data.as_slice(), rest.next_offset), (&b"789"[..], 10));
        let past = read(&id(), &path, None, 50, 100).unwrap();
        assert_eq!((past.data.len(), past.next_offset, past.size), (0, 50, 10));
    }

    #[test]
    fn a_missing_file_is_an_empty_chunk_at_zero() {
        let dir = tempfile::tempdir().unwrap();
        let chunk = read(&id(), &dir.path().join("stdout.log"), None, 9, 10).unwrap();
        assert_eq!(chunk, OutputChunk::default());
    }

    #[test]
    fn links_fifos_and_other_owners_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("stdout.log");
        std::os::unix::fs::symlink("/etc/passwd", &link).unwrap();
        let error = read(&id(), &link, None, 0, 10).unwrap_err();
        assert!(
            matches!(
                error,
                LaunchError::UnsafeFile {
                    reason: "a symlink",
                    ..
                }
            ),
            "{error}"
        );
        let fifo = dir.path().join("stderr.log");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let error = read(&id(), &fifo, None, 0, 10).unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");
        let file = dir.path().join("output.log");
        std::fs::write(&file, b"x").unwrap();
        let mine = std::fs::metadata(&file).unwrap().uid();
        assert!(read(&id(), &file, Some(mine), 0, 10).is_ok());
        let error = read(&id(), &file, Some(mine + 1), 0, 10).unwrap_err();
        assert!(error.to_string().contains("not owned"), "{error}");
    }

    #[test]
    fn the_tail_of_a_split_session_ends_with_the_supervisor_lines() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(tail(dir.path(), OutputMode::Split, 5), None);
        std::fs::write(dir.path().join("output.log"), "a\nb\nc\n").unwrap();
        std::fs::write(dir.path().join("supervisor.log"), "s1\ns2\n").unwrap();
        assert_eq!(
            tail(dir.path(), OutputMode::Split, 2).unwrap(),
            "b\nc\ns1\ns2\n"
        );
    }
}
