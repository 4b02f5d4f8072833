//! Linux accounts from the system's account database (`/etc/passwd`, or
//! whatever NSS is configured), read with the re-entrant `getpw*_r` calls.
#![allow(unsafe_code)] // getpwnam_r / getpwuid_r / geteuid have no safe wrapper in std.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::OsError;

/// Start size of the buffer for one account entry; doubled on `ERANGE`.
const FIRST_BUFFER: usize = 1024;
/// Upper bound of that buffer: an entry larger than this is not an account.
const MAX_BUFFER: usize = 1 << 20;

/// A Linux account: who a session runs as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The login name.
    pub name: String,
    /// The user id.
    pub uid: u32,
    /// The primary group id.
    pub gid: u32,
    /// The home folder.
    pub home: PathBuf,
    /// The login shell.
    pub shell: PathBuf,
}

/// True when this process runs with effective uid 0.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

impl Account {
    /// Looks an account up by name; `Ok(None)` when there is none.
    pub fn lookup(name: &str) -> Result<Option<Account>, OsError> {
        let c_name = CString::new(name).map_err(|_| OsError::InvalidName {
            name: name.to_owned(),
        })?;
        read_entry(|pwd, buf, len, result| {
            // SAFETY: c_name is a valid C string; pwd, buf (len bytes) and
            // result point to live, writable memory owned by read_entry.
            unsafe { libc::getpwnam_r(c_name.as_ptr(), pwd, buf, len, result) }
        })
        .map_err(|source| OsError::Lookup {
            name: name.to_owned(),
            source,
        })
    }

    /// Looks an account up by uid; `Ok(None)` when there is none.
    pub fn lookup_uid(uid: u32) -> Result<Option<Account>, OsError> {
        read_entry(|pwd, buf, len, result| {
            // SAFETY: pwd, buf (len bytes) and result point to live, writable
            // memory owned by read_entry.
            unsafe { libc::getpwuid_r(uid, pwd, buf, len, result) }
        })
        .map_err(|source| OsError::LookupUid { uid, source })
    }

    /// The account this process runs as (by effective uid).
    pub fn current() -> Result<Account, OsError> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let uid = unsafe { libc::geteuid() };
        Self::lookup_uid(uid)?.ok_or(OsError::NoSuchUid { uid })
    }
}

/// A pointer to the C library's account entry.
type PwPtr = *mut libc::passwd;

/// Calls a `getpw*_r` function with a growing buffer and copies the entry out.
fn read_entry(
    mut call: impl FnMut(PwPtr, *mut libc::c_char, usize, *mut PwPtr) -> i32,
) -> io::Result<Option<Account>> {
    let mut buf: Vec<libc::c_char> = vec![0; FIRST_BUFFER];
    loop {
        // SAFETY: passwd is a plain C struct of integers and pointers, for
        // which all-zero bytes are a valid value.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = call(&mut pwd, buf.as_mut_ptr(), buf.len(), &mut result);
        if rc == libc::ERANGE && buf.len() < MAX_BUFFER {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        if result.is_null() {
            return Ok(None);
        }
        // SAFETY: on success `pwd` is filled and its string pointers point
        // into `buf`, which is still alive here.
        return Ok(Some(unsafe { account_from(&pwd) }));
    }
}

/// Copies a filled `passwd` entry into an owned [`Account`].
///
/// # Safety
/// Every string pointer of `pwd` must be null or a valid C string.
unsafe fn account_from(pwd: &libc::passwd) -> Account {
    // SAFETY: forwarded from this function's contract.
    let text = |ptr: *const libc::c_char| unsafe { c_bytes(ptr) };
    Account {
        name: String::from_utf8_lossy(text(pwd.pw_name)).into_owned(),
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
        home: PathBuf::from(OsStr::from_bytes(text(pwd.pw_dir))),
        shell: PathBuf::from(OsStr::from_bytes(text(pwd.pw_shell))),
    }
}

/// The bytes of a C string, or none for a null pointer.
///
/// # Safety
/// `ptr` must be null or a valid C string that outlives the returned slice.
unsafe fn c_bytes<'a>(ptr: *const libc::c_char) -> &'a [u8] {
    if ptr.is_null() {
        return &[];
    }
    // SAFETY: non-null and valid by this function's contract.
    unsafe { CStr::from_ptr(ptr) }.to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_uid_zero_with_a_home() {
        let root = Account::lookup("root").unwrap().expect("root exists");
        assert_eq!((root.uid, root.gid), (0, 0));
        assert_eq!(root.home, PathBuf::from("/root"));
        assert!(!root.shell.as_os_str().is_empty());
        assert_eq!(Account::lookup_uid(0).unwrap(), Some(root));
    }

    #[test]
    fn a_missing_name_is_none() {
        assert_eq!(Account::lookup("atelier-no-such-user-x9").unwrap(), None);
    }

    #[test]
    fn a_name_with_nul_is_rejected() {
        assert!(matches!(
            Account::lookup("ro\0ot"),
            Err(OsError::InvalidName { .. })
        ));
    }

    #[test]
    fn current_matches_is_root() {
        let me = Account::current().unwrap();
        assert_eq!(me.uid == 0, is_root());
    }
}
