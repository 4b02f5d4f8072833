//! Fuzzes `atelier_auth::UsersFile::load` on a private (0600) file with
//! arbitrary content. Loading never panics; a file of text either loads, and
//! every user in it is found again by name, or is refused with an error that
//! names a line of the file. A file that is not UTF-8 is refused as unreadable.

#![no_main]

use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::OnceLock;

use atelier_auth::{AuthError, UsersFile};
use libfuzzer_sys::fuzz_target;

/// One private folder for the whole run; each input overwrites one file. In
/// memory (`/dev/shm`) where there is one: on disk the run is 200 times slower.
fn path() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let dir = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .expect("temporary folder");
        let path = dir.path().join("users");
        (dir, path)
    })
    .1
}

fuzz_target!(|data: &[u8]| {
    let path = path();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .expect("open the users file");
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .expect("chmod 600");
    file.write_all(data).expect("write the users file");
    drop(file);

    let text = std::str::from_utf8(data);
    match (UsersFile::load(path), text) {
        (Ok(users), _) => {
            for (name, role) in users.users() {
                assert_eq!(users.get(name), Some(role));
            }
        }
        (Err(AuthError::Malformed { line, reason, .. }), Ok(text)) => {
            let lines = text.lines().count();
            assert!((1..=lines).contains(&line), "line {line} of {lines}");
            assert!(!reason.is_empty());
        }
        (Err(AuthError::Io { source, .. }), Err(_)) => {
            assert_eq!(source.kind(), ErrorKind::InvalidData);
        }
        (Err(error), _) => panic!("unexpected error: {error}"),
    }
});
