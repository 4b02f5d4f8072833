//! Starting a local session: its folder, its log (`ide.log`, or
//! `supervisor.log` for split output) and the caller's files, its limits (see
//! `confine`), and the supervisor process running as the session's account
//! with a clean environment.

use std::fs::{DirBuilder, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use atelier_core::Session;
use atelier_os::cgroup::Cgroups;
use atelier_os::process::ProcessInfo;
use atelier_os::spawn::Confine;
use tokio::process::Command;

use super::handle::Handle;
use super::{confine, files, SESSION_MARKER};
use crate::output::{COMBINED_FILE, LOG_FILE, STDERR_FILE, STDOUT_FILE, SUPERVISOR_LOG_FILE};
use crate::supervisor::{EXIT_FILE, SPLIT_FLAG};
use crate::{LaunchError, LaunchSpec, OutputMode, SOCKET_FILE};

/// A socket path must be shorter than this (`sun_path` is 108 bytes with its NUL).
pub(crate) const SOCKET_PATH_LIMIT: usize = 100;
/// The placeholder in `LaunchSpec::args` replaced by the socket path.
const SOCKET_PLACEHOLDER: &str = "{socket}";
/// The placeholder in `LaunchSpec::args` and env values replaced by the session folder.
const DIR_PLACEHOLDER: &str = "{dir}";
/// The temporary exit record, written before it is renamed to `exit.json`.
const EXIT_TEMP_FILE: &str = "exit.json.tmp";
/// `PATH` of every session; `LaunchSpec::env` may override it.
const SESSION_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Creates the session folder and log, starts the supervisor, returns the handle JSON.
pub(crate) fn launch(
    dir: &Path,
    session: &Session,
    spec: &LaunchSpec,
    cgroups: &Result<Cgroups, String>,
) -> Result<String, LaunchError> {
    let reserved = [
        LOG_FILE,
        SOCKET_FILE,
        EXIT_FILE,
        EXIT_TEMP_FILE,
        SUPERVISOR_LOG_FILE,
        STDOUT_FILE,
        STDERR_FILE,
        COMBINED_FILE,
    ];
    if let Some((path, _)) = spec
        .files
        .iter()
        .find(|(path, _)| !files::is_plain_relative(path, &reserved))
    {
        return Err(LaunchError::BadFilePath {
            session: session.id.clone(),
            path: path.clone(),
        });
    }
    let socket = dir.join(SOCKET_FILE);
    let len = socket.as_os_str().len();
    if len >= SOCKET_PATH_LIMIT {
        let session = session.id.clone();
        return Err(LaunchError::SocketPathTooLong {
            session,
            path: socket,
            len,
            limit: SOCKET_PATH_LIMIT,
        });
    }
    let started = prepare_dir(dir, session, spec).and_then(|log| {
        let plan = confine::plan(cgroups, session, spec.limits)?;
        match spawn_supervisor(dir, &socket, log, session, spec, &plan.confine) {
            Ok(started) => Ok((started, plan)),
            Err(error) => {
                if let Some(cgroup) = &plan.cgroup {
                    let _ = cgroup.remove();
                }
                Err(error)
            }
        }
    });
    let ((pid, start_time), plan) = match started {
        Ok(started) => started,
        Err(error @ LaunchError::AlreadyLaunched { .. }) => return Err(error),
        Err(error) => {
            // Nothing runs yet: do not leave a half-made folder behind.
            let _ = std::fs::remove_dir_all(dir);
            return Err(error);
        }
    };
    let handle = Handle {
        pid,
        start_time,
        dir: dir.to_owned(),
        socket,
        uid: spec.account.uid,
        ready_path: spec.ready_path.clone(),
        limits: plan.text,
        cgroup: plan.record,
        output: spec.output,
    };
    tracing::info!(
        session_id = %session.id,
        user = %session.user,
        pid,
        limits = handle.limits.as_deref().unwrap_or("none"),
        "session supervisor started"
    );
    Ok(handle.to_json())
}

/// Creates `dir` (0700), the supervisor's log (0600: `ide.log`, or
/// `supervisor.log` for split output) and the spec's files, all owned by the
/// session's account at the end; returns the open log. The folder is
/// handed to the user only once they exist, so the user never races their
/// creation.
fn prepare_dir(dir: &Path, session: &Session, spec: &LaunchSpec) -> Result<File, LaunchError> {
    DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                LaunchError::AlreadyLaunched {
                    session: session.id.clone(),
                    path: dir.to_owned(),
                }
            } else {
                io_error(session, "cannot create", dir)(source)
            }
        })?;
    let log_path = dir.join(match spec.output {
        OutputMode::Log => LOG_FILE,
        OutputMode::Split => SUPERVISOR_LOG_FILE,
    });
    let log = OpenOptions::new()
        .append(true)
        .create_new(true)
        .mode(0o600)
        .open(&log_path)
        .map_err(io_error(session, "cannot create", &log_path))?;
    let (uid, gid) = (spec.account.uid, spec.account.gid);
    let owner = atelier_os::is_root().then_some((uid, gid));
    files::write_files(dir, &spec.files, owner)
        .map_err(|(path, source)| io_error(session, "cannot write", &path)(source))?;
    let os_error = |source| LaunchError::Os {
        session: session.id.clone(),
        source,
    };
    atelier_os::fs::set_mode(dir, 0o700).map_err(os_error)?;
    if atelier_os::is_root() {
        atelier_os::fs::chown(&log_path, uid, gid).map_err(os_error)?;
        atelier_os::fs::chown(dir, uid, gid).map_err(os_error)?;
    }
    Ok(log)
}

/// Builds the error of a failed file operation on `path`.
fn io_error(
    session: &Session,
    action: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> LaunchError {
    let (session, path) = (session.id.clone(), path.to_owned());
    move |source| LaunchError::Io {
        session,
        action,
        path,
        source,
    }
}

/// Spawns `<supervisor> session-run --dir D --grace-ms N [--split-output] --
/// program args...`
/// as the account and returns its pid and start time. A task reaps it.
fn spawn_supervisor(
    dir: &Path,
    socket: &Path,
    log: File,
    session: &Session,
    spec: &LaunchSpec,
    confine: &Confine,
) -> Result<(i32, u64), LaunchError> {
    let spawn_error = |source| LaunchError::Spawn {
        session: session.id.clone(),
        program: spec.supervisor.clone(),
        source,
    };
    let stderr = log.try_clone().map_err(spawn_error)?;
    let mut cmd = Command::new(&spec.supervisor);
    cmd.arg("session-run")
        .arg("--dir")
        .arg(dir)
        .arg("--grace-ms")
        .arg(spec.grace.as_millis().to_string())
        .args((spec.output == OutputMode::Split).then_some(SPLIT_FLAG))
        .arg("--")
        .arg(&spec.program)
        .args(substitute(&spec.args, socket, dir))
        .env_clear()
        .envs(session_env(session, spec, dir))
        .current_dir(working_dir(dir, &spec.account.home))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(stderr);
    atelier_os::spawn::as_user_confined(cmd.as_std_mut(), &spec.account, confine).map_err(
        |source| LaunchError::Os {
            session: session.id.clone(),
            source,
        },
    )?;
    let mut child = cmd.spawn().map_err(spawn_error)?;

    // Not yet reaped (only the task below waits), so /proc still has it.
    let info = child.id().and_then(|pid| ProcessInfo::read(pid as i32));
    let session_id = session.id.clone();
    tokio::spawn(async move {
        match child.wait().await {
            Ok(status) => {
                tracing::info!(session_id = %session_id, %status, "session supervisor exited")
            }
            Err(error) => {
                tracing::warn!(session_id = %session_id, %error, "cannot reap session supervisor")
            }
        }
    });
    let info =
        info.ok_or_else(|| spawn_error(std::io::Error::other("supervisor vanished at start")))?;
    Ok((info.pid, info.start_time))
}

/// The clean environment of a session: basics from the account, then the
/// spec's variables (with `{dir}` replaced), then the session marker (which
/// nothing may override).
pub(crate) fn session_env(
    session: &Session,
    spec: &LaunchSpec,
    dir: &Path,
) -> Vec<(String, String)> {
    let dir = dir.to_string_lossy();
    let account = &spec.account;
    let mut env = vec![
        ("PATH".to_owned(), SESSION_PATH.to_owned()),
        (
            "HOME".to_owned(),
            account.home.to_string_lossy().into_owned(),
        ),
        ("USER".to_owned(), account.name.clone()),
        ("LOGNAME".to_owned(), account.name.clone()),
        (
            "SHELL".to_owned(),
            account.shell.to_string_lossy().into_owned(),
        ),
        ("LANG".to_owned(), "C.UTF-8".to_owned()),
    ];
    env.extend(
        spec.env
            .iter()
            .filter(|(key, _)| key != SESSION_MARKER)
            .map(|(key, value)| (key.clone(), value.replace(DIR_PLACEHOLDER, &dir))),
    );
    env.push((SESSION_MARKER.to_owned(), session.id.to_string()));
    env
}

/// The account's home, or the session folder when the home does not exist.
fn working_dir(dir: &Path, home: &Path) -> PathBuf {
    if home.is_dir() {
        home.to_owned()
    } else {
        tracing::warn!(home = %home.display(), "home folder missing; the session starts in its own folder");
        dir.to_owned()
    }
}

/// `args` with every `{socket}` replaced by the socket path and every
/// `{dir}` by the session folder.
pub(crate) fn substitute(args: &[String], socket: &Path, dir: &Path) -> Vec<String> {
    let (socket, dir) = (socket.to_string_lossy(), dir.to_string_lossy());
    args.iter()
        .map(|arg| {
            arg.replace(SOCKET_PLACEHOLDER, &socket)
                .replace(DIR_PLACEHOLDER, &dir)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_and_dir_placeholders_are_replaced_everywhere() {
        let args = vec![
            "--ServerApp.sock={socket}".to_owned(),
            "--x".to_owned(),
            "{socket}".to_owned(),
            "--path={dir}/jupyter:{dir}".to_owned(),
        ];
        let out = substitute(&args, Path::new("/d/ide.sock"), Path::new("/d"));
        assert_eq!(
            out,
            [
                "--ServerApp.sock=/d/ide.sock",
                "--x",
                "/d/ide.sock",
                "--path=/d/jupyter:/d"
            ]
        );
    }
}
