//! Small file-system helpers for ownership, permission bits and free space,
//! with errors that name the path.

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

/// Bytes available to unprivileged writers on the file system holding `path`.
#[allow(unsafe_code)] // statvfs has no safe wrapper in std.
pub fn free_bytes(path: &Path) -> Result<u64, OsError> {
    let fail = |source| OsError::Fs {
        action: "cannot read the free space of",
        path: path.to_owned(),
        source,
    };
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| fail(std::io::Error::from(std::io::ErrorKind::InvalidInput)))?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` is a valid C string and `stat` is written by the call
    // before it is read, only when the call succeeds.
    let stat = unsafe {
        if libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) != 0 {
            return Err(fail(std::io::Error::last_os_error()));
        }
        stat.assume_init()
    };
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
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
    fn free_space_is_read_and_a_missing_path_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(free_bytes(dir.path()).unwrap() > 0);
        let error = free_bytes(&dir.path().join("missing")).unwrap_err();
        assert!(error.to_string().contains("missing"), "{error}");
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
