//! Small file-system helpers for ownership and permission bits, with errors
//! that name the path.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::OsError;

/// Changes the owner and group of `path` (following no symlink at the last
/// component, so a user cannot redirect it).
pub fn chown(path: &Path, uid: u32, gid: u32) -> Result<(), OsError> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).map_err(|source| OsError::Fs {
        action: "cannot chown",
        path: path.to_owned(),
        source,
    })
}

/// Sets the permission bits of `path`, e.g. `0o700`.
pub fn set_mode(path: &Path, mode: u32) -> Result<(), OsError> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|source| OsError::Fs {
        action: "cannot chmod",
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn mode_and_owner_are_applied() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs::write(&file, b"x").unwrap();
        set_mode(&file, 0o640).unwrap();
        assert_eq!(fs::metadata(&file).unwrap().mode() & 0o7777, 0o640);
        let me = crate::Account::current().unwrap();
        chown(&file, me.uid, me.gid).unwrap();
        if crate::is_root() {
            chown(&file, 65534, 65534).unwrap();
            assert_eq!(fs::metadata(&file).unwrap().uid(), 65534);
        }
    }

    #[test]
    fn errors_name_the_path() {
        let error = set_mode(Path::new("/nonexistent/atelier"), 0o600).unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/atelier"),
            "{error}"
        );
    }
}
