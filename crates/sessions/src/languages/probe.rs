//! Runs one interpreter once to learn its version and whether its Jupyter
//! kernel loads. The run has a clean environment, a timeout (the whole
//! process group is killed when it expires) and, when the server is root,
//! the `nobody` account: what matters is whether users can run it.

use std::fs;
use std::io::{ErrorKind, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use atelier_os::signal::{self, Signal};
use atelier_os::Account;

use super::Language;

/// Prints the version, then whether ipykernel imports. Valid Python 2 and 3,
/// so an old interpreter still reports its version.
const PYTHON_PROBE: &str = r#"import sys
sys.stdout.write("%d.%d.%d\n" % tuple(sys.version_info[:3]))
sys.stdout.flush()
try:
    import ipykernel
    sys.stdout.write("kernel ok\n")
except Exception as error:
    sys.stdout.write("kernel %s: %s\n" % (type(error).__name__, error))
"#;

/// Prints the version, then whether IRkernel loads.
const R_PROBE: &str = r#"cat(R.version$major, ".", R.version$minor, "\n", sep = "")
ok <- requireNamespace("IRkernel", quietly = TRUE)
cat(if (ok) "kernel ok" else if (nzchar(system.file(package = "IRkernel"))) "kernel broken" else "kernel missing", "\n", sep = "")"#;

/// The `PATH` probes run with.
const CLEAN_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// What one run of an interpreter told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Probe {
    /// The full version, empty when unknown.
    pub(super) version: String,
    /// Why it cannot be used, `None` when it runs.
    pub(super) reason: Option<String>,
    /// Why its Jupyter kernel cannot be used, `None` when it loads.
    pub(super) kernel_reason: Option<String>,
}

impl Probe {
    /// An interpreter that cannot be used at all.
    pub(super) fn failed(reason: impl Into<String>) -> Probe {
        Probe {
            version: String::new(),
            reason: Some(reason.into()),
            kernel_reason: Some("the interpreter does not run for users".to_owned()),
        }
    }
}

/// Checks that users may run `path`, then runs it once.
pub(super) fn probe(language: Language, path: &Path, timeout: Duration) -> Probe {
    if let Err(reason) = users_can_execute(path) {
        return Probe::failed(reason);
    }
    let mut cmd = Command::new(path);
    match language {
        Language::Python => cmd.args(["-s", "-c", PYTHON_PROBE]),
        Language::R => cmd.args(["--slave", "--no-restore", "--no-save", "-e", R_PROBE]),
    };
    let shown = path.display();
    match run(cmd, timeout) {
        Ok(ran) => {
            parse(language, &ran).unwrap_or_else(|why| Probe::failed(format!("{shown} {why}")))
        }
        Err(why) => Probe::failed(format!("{shown} {why}")),
    }
}

/// Whether every user may execute `path`: the file and every folder on the
/// way to it (as given and after symlinks) open to others.
fn users_can_execute(path: &Path) -> Result<(), String> {
    let shown = path.display();
    if !path.is_absolute() {
        return Err(format!("{shown} is not an absolute path"));
    }
    let real = fs::canonicalize(path).map_err(|error| match error.kind() {
        ErrorKind::NotFound => format!("{shown} does not exist"),
        _ => format!("{shown} cannot be read: {error}"),
    })?;
    let folders = path.ancestors().skip(1).chain(real.ancestors().skip(1));
    for folder in folders {
        let mode = fs::metadata(folder).map_or(0o755, |meta| meta.permissions().mode());
        if mode & 0o001 == 0 {
            return Err(format!(
                "{} is not open to other users (mode {:o})",
                folder.display(),
                mode & 0o7777
            ));
        }
    }
    let meta = fs::metadata(&real).map_err(|error| format!("{shown} cannot be read: {error}"))?;
    let mode = meta.permissions().mode();
    if !meta.is_file() {
        return Err(format!("{shown} is not a file"));
    }
    if mode & 0o001 == 0 {
        return Err(format!(
            "{shown} is not executable by other users (mode {:o})",
            mode & 0o7777
        ));
    }
    Ok(())
}

/// What a finished run printed.
struct Ran {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` with a clean environment; `Err` says why it gave no answer.
fn run(mut cmd: Command, timeout: Duration) -> Result<Ran, String> {
    let mut home = "/".to_owned();
    if atelier_os::is_root() {
        if let Ok(Some(nobody)) = Account::lookup("nobody") {
            cmd.uid(nobody.uid).gid(nobody.gid);
            home = nobody.home.display().to_string();
        }
    }
    cmd.env_clear()
        .env("PATH", CLEAN_PATH)
        .env("HOME", home)
        .env("LANG", "C.UTF-8")
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|error| format!("cannot be run: {error}"))?;
    let (sender, receiver) = mpsc::channel();
    for (index, pipe) in [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .enumerate()
    {
        let sender = sender.clone();
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            let _ = sender.send((index, bytes));
        });
    }
    let deadline = Instant::now() + timeout;
    let group = i32::try_from(child.id()).unwrap_or(0);
    let status = wait_until(&mut child, group, deadline);
    let mut output = [Vec::new(), Vec::new()];
    for _ in 0..2 {
        // A descendant still holding the pipes keeps its group (and so the
        // group id) alive: ending the group is safe and frees the readers.
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(1));
        let received = receiver.recv_timeout(wait).or_else(|_| {
            let _ = signal::kill_group(group, Signal::Kill);
            receiver.recv_timeout(Duration::from_secs(1))
        });
        if let Ok((index, bytes)) = received {
            output[index] = bytes;
        }
    }
    let status = status.ok_or_else(|| format!("did not answer within {} s", timeout.as_secs()))?;
    let [stdout, stderr] = output.map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    Ok(Ran {
        status,
        stdout,
        stderr,
    })
}

/// The exit status, or `None` (with the process group killed) at the deadline.
fn wait_until(child: &mut Child, group: i32, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = signal::kill_group(group, Signal::Kill);
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// Reads the probe's two lines; `Err` completes "`<path>` …".
fn parse(language: Language, ran: &Ran) -> Result<Probe, String> {
    let mut lines = ran.stdout.lines().map(str::trim);
    let version = lines
        .next()
        .filter(|line| looks_like_version(line))
        .ok_or_else(|| failure(language, ran))?;
    let kernel = lines.find_map(|line| line.strip_prefix("kernel "));
    let kernel_reason = match (language, kernel) {
        (_, Some("ok")) => None,
        (Language::Python, Some(error)) if error.contains("No module named 'ipykernel'") => {
            Some("ipykernel is not installed for this Python".to_owned())
        }
        (Language::Python, Some(error)) => Some(format!("ipykernel does not load: {error}")),
        (Language::R, Some("missing")) => Some("IRkernel is not installed for this R".to_owned()),
        (Language::R, Some(_)) => Some("IRkernel is installed but does not load".to_owned()),
        (_, None) => Some(format!(
            "loading the Jupyter kernel ended the interpreter ({})",
            describe(ran.status)
        )),
    };
    Ok(Probe {
        version: version.to_owned(),
        reason: None,
        kernel_reason,
    })
}

/// Why a run that printed no version failed, after "`<path>` ".
fn failure(language: Language, ran: &Ran) -> String {
    let last = ran
        .stderr
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .unwrap_or("");
    let last: String = last.chars().take(200).collect();
    if ran.status.success() {
        format!("does not look like {language}: it printed no version")
    } else if last.is_empty() {
        format!("failed ({})", describe(ran.status))
    } else {
        format!("failed ({}): {last}", describe(ran.status))
    }
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}

fn looks_like_version(line: &str) -> bool {
    let mut parts = line.split('.');
    parts.clone().count() >= 2
        && parts.all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}
