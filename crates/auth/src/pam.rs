//! Password checks through the system's PAM stack, by a small FFI binding to
//! libpam written here (`pam_start`, `pam_authenticate`, `pam_acct_mgmt`,
//! `pam_end`).
//!
//! Atelier expects a service file `/etc/pam.d/atelier` that checks local
//! accounts without the 2-second failure delay (Atelier limits login rates
//! itself, see [`crate::rate_limit`]):
//!
//! ```text
//! auth    required pam_unix.so nodelay
//! account required pam_unix.so
//! ```
//!
//! Without that file PAM falls back to `/etc/pam.d/other`, which on Debian
//! denies everything. pam_unix can check any user's password only when the
//! server runs as root; otherwise its helper checks only the caller's own.
//!
//! The calls block (PAM modules may do disk or network IO): call
//! [`authenticate`] from `tokio::task::spawn_blocking`, as
//! [`crate::Provider`] does.

// Calling a C library is unsafe by nature; every unsafe block below is a
// single FFI call or raw-pointer access with its SAFETY argument.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::marker::PhantomData;
use std::ptr;

use crate::AuthError;

const PAM_SUCCESS: c_int = 0;
const PAM_SERVICE_ERR: c_int = 3;
const PAM_BUF_ERR: c_int = 5;
const PAM_PERM_DENIED: c_int = 6;
const PAM_AUTH_ERR: c_int = 7;
const PAM_USER_UNKNOWN: c_int = 10;
const PAM_MAXTRIES: c_int = 11;
const PAM_NEW_AUTHTOK_REQD: c_int = 12;
const PAM_ACCT_EXPIRED: c_int = 13;
const PAM_CONV_ERR: c_int = 19;
const PAM_AUTHTOK_EXPIRED: c_int = 27;

const PAM_SILENT: c_int = 0x8000;
const PAM_DISALLOW_NULL_AUTHTOK: c_int = 0x0001;

const PAM_PROMPT_ECHO_OFF: c_int = 1;
const PAM_PROMPT_ECHO_ON: c_int = 2;
const PAM_ERROR_MSG: c_int = 3;
const PAM_TEXT_INFO: c_int = 4;
const PAM_MAX_NUM_MSG: usize = 32;

/// Opaque `pam_handle_t`.
#[repr(C)]
struct PamHandle {
    _opaque: [u8; 0],
}

/// `struct pam_message`. Fields this code never reads keep the C layout
/// and carry a leading underscore.
#[repr(C)]
struct PamMessage {
    msg_style: c_int,
    _msg: *const c_char,
}

/// `struct pam_response`; `resp_retcode` is unused by PAM and left zero.
#[repr(C)]
struct PamResponse {
    resp: *mut c_char,
    _resp_retcode: c_int,
}

type ConvFn = unsafe extern "C" fn(
    c_int,
    *mut *const PamMessage,
    *mut *mut PamResponse,
    *mut c_void,
) -> c_int;

/// `struct pam_conv`.
#[repr(C)]
struct PamConv {
    conv: Option<ConvFn>,
    appdata_ptr: *mut c_void,
}

#[link(name = "pam")]
unsafe extern "C" {
    fn pam_start(
        service_name: *const c_char,
        user: *const c_char,
        pam_conversation: *const PamConv,
        pamh: *mut *mut PamHandle,
    ) -> c_int;
    fn pam_authenticate(pamh: *mut PamHandle, flags: c_int) -> c_int;
    fn pam_acct_mgmt(pamh: *mut PamHandle, flags: c_int) -> c_int;
    fn pam_end(pamh: *mut PamHandle, pam_status: c_int) -> c_int;
    fn pam_strerror(pamh: *mut PamHandle, errnum: c_int) -> *const c_char;
}

/// Checks `password` for the account `user` with the PAM `service` (e.g.
/// `atelier`): authentication, then the account check (expiry, access).
///
/// `Ok(true)` when both pass; `Ok(false)` for a wrong password, an unknown
/// user, or an expired or refused account; `Err` when PAM itself fails (a
/// broken service file or module). Blocks the calling thread.
pub fn authenticate(service: &str, user: &str, password: &str) -> Result<bool, AuthError> {
    let service_c = CString::new(service).map_err(|_| AuthError::Pam {
        service: service.to_owned(),
        step: "pam_start",
        code: PAM_SERVICE_ERR,
        message: "the service name contains a NUL byte".to_owned(),
    })?;
    // No account name or password contains NUL, and an empty password never
    // authenticates here.
    let (Ok(user_c), Ok(password_c)) = (CString::new(user), CString::new(password)) else {
        return Ok(false);
    };
    if user.is_empty() || password.is_empty() {
        return Ok(false);
    }
    let conv = PamConv {
        conv: Some(converse),
        appdata_ptr: password_c.as_ptr() as *mut c_void,
    };
    let mut pam = Transaction::start(service, &service_c, &user_c, &conv)?;

    let code = pam.call(
        "pam_authenticate",
        pam_authenticate,
        PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK,
    );
    match code {
        PAM_SUCCESS => {}
        PAM_AUTH_ERR | PAM_USER_UNKNOWN | PAM_MAXTRIES | PAM_PERM_DENIED => return Ok(false),
        _ => return Err(pam.error("pam_authenticate", code)),
    }
    let code = pam.call("pam_acct_mgmt", pam_acct_mgmt, PAM_SILENT);
    match code {
        PAM_SUCCESS => Ok(true),
        PAM_ACCT_EXPIRED | PAM_NEW_AUTHTOK_REQD | PAM_AUTHTOK_EXPIRED | PAM_PERM_DENIED
        | PAM_AUTH_ERR | PAM_USER_UNKNOWN => {
            tracing::info!(user, service, reason = %pam.describe(code), "PAM account check refused");
            Ok(false)
        }
        _ => Err(pam.error("pam_acct_mgmt", code)),
    }
}

/// One PAM transaction; `pam_end` runs when it is dropped. It borrows the
/// conversation (and through it the password) so both outlive the handle.
struct Transaction<'a> {
    handle: *mut PamHandle,
    last_status: c_int,
    service: &'a str,
    _conv: PhantomData<&'a PamConv>,
}

impl<'a> Transaction<'a> {
    fn start(
        service: &'a str,
        service_c: &CStr,
        user_c: &CStr,
        conv: &'a PamConv,
    ) -> Result<Self, AuthError> {
        let mut handle = ptr::null_mut();
        // SAFETY: both strings are NUL-terminated and live through the call;
        // `conv` outlives the handle (borrowed for 'a); `handle` is a valid
        // out-pointer.
        let code = unsafe { pam_start(service_c.as_ptr(), user_c.as_ptr(), conv, &mut handle) };
        if code != PAM_SUCCESS || handle.is_null() {
            let message = "PAM could not start a transaction".to_owned();
            return Err(AuthError::Pam {
                service: service.to_owned(),
                step: "pam_start",
                code,
                message,
            });
        }
        Ok(Self {
            handle,
            last_status: code,
            service,
            _conv: PhantomData,
        })
    }

    /// Runs one PAM call on the handle and remembers its status for `pam_end`.
    fn call(
        &mut self,
        step: &'static str,
        function: unsafe extern "C" fn(*mut PamHandle, c_int) -> c_int,
        flags: c_int,
    ) -> c_int {
        tracing::trace!(step, service = self.service, "PAM call");
        // SAFETY: the handle came from a successful pam_start and pam_end has
        // not run yet; `function` is one of the libpam entry points above.
        self.last_status = unsafe { function(self.handle, flags) };
        self.last_status
    }

    /// PAM's text for `code`.
    fn describe(&self, code: c_int) -> String {
        // SAFETY: the handle is live; pam_strerror returns a static string
        // or NULL.
        let text = unsafe { pam_strerror(self.handle, code) };
        if text.is_null() {
            return format!("PAM code {code}");
        }
        // SAFETY: non-null pointers from pam_strerror are NUL-terminated
        // strings that are never freed.
        unsafe { CStr::from_ptr(text) }
            .to_string_lossy()
            .into_owned()
    }

    fn error(&self, step: &'static str, code: c_int) -> AuthError {
        let message = self.describe(code);
        AuthError::Pam {
            service: self.service.to_owned(),
            step,
            code,
            message,
        }
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        // SAFETY: the handle came from a successful pam_start and is ended
        // exactly once, here.
        unsafe { pam_end(self.handle, self.last_status) };
    }
}

/// The conversation function: answers every prompt (echo off or on) with
/// the password passed as `appdata` and ignores informational messages.
/// Replies are allocated with the C allocator, as PAM frees them with
/// `free()`.
///
/// # Safety
/// Called by libpam only: `msg` points to `num_msg` message pointers, `resp`
/// is a valid out-pointer and `appdata` is the NUL-terminated password.
unsafe extern "C" fn converse(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    appdata: *mut c_void,
) -> c_int {
    let count = match usize::try_from(num_msg) {
        Ok(count) if (1..=PAM_MAX_NUM_MSG).contains(&count) => count,
        _ => return PAM_CONV_ERR,
    };
    if msg.is_null() || resp.is_null() || appdata.is_null() {
        return PAM_CONV_ERR;
    }
    // SAFETY: calloc returns zeroed memory for `count` responses or NULL.
    let replies = unsafe { libc::calloc(count, size_of::<PamResponse>()) }.cast::<PamResponse>();
    if replies.is_null() {
        return PAM_BUF_ERR;
    }
    for index in 0..count {
        // SAFETY: Linux-PAM passes an array of `num_msg` message pointers.
        let message = unsafe { *msg.add(index) };
        // SAFETY: a non-null message pointer points to a pam_message.
        let style = if message.is_null() {
            -1
        } else {
            unsafe { (*message).msg_style }
        };
        let answer = match style {
            PAM_PROMPT_ECHO_OFF | PAM_PROMPT_ECHO_ON => {
                // SAFETY: appdata is the NUL-terminated password, alive for
                // the whole transaction.
                let copy = unsafe { libc::strdup(appdata.cast::<c_char>()) };
                if copy.is_null() {
                    // SAFETY: `replies` holds `count` responses from calloc.
                    unsafe { free_replies(replies, count) };
                    return PAM_BUF_ERR;
                }
                copy
            }
            PAM_ERROR_MSG | PAM_TEXT_INFO => ptr::null_mut(),
            _ => {
                // SAFETY: as above.
                unsafe { free_replies(replies, count) };
                return PAM_CONV_ERR;
            }
        };
        // SAFETY: index < count, inside the calloc'd array.
        unsafe { (*replies.add(index)).resp = answer };
    }
    // SAFETY: resp is a valid out-pointer; PAM now owns the replies.
    unsafe { *resp = replies };
    PAM_SUCCESS
}

/// Frees a reply array and the strings in it (NULL entries are skipped by
/// `free`).
///
/// # Safety
/// `replies` must come from `calloc` with `count` entries whose `resp` are
/// NULL or from `strdup`.
unsafe fn free_replies(replies: *mut PamResponse, count: usize) {
    for index in 0..count {
        // SAFETY: index < count; each resp is NULL or from strdup.
        unsafe { libc::free((*replies.add(index)).resp.cast::<c_void>()) };
    }
    // SAFETY: the array itself came from calloc.
    unsafe { libc::free(replies.cast::<c_void>()) };
}
