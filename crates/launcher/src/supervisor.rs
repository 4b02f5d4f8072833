//! The session supervisor, `atelier session-run`: the first process of a
//! local session, already running as the session's user and leading its own
//! session and process group.
//!
//! It starts the IDE in its process group, and writes how the IDE ended to
//! `<dir>/exit.json` (`{"code":N|null,"signal":N|null}`, atomically). On
//! SIGTERM or SIGINT it sends SIGTERM to the IDE and the rest of its group,
//! waits up to the grace period, then SIGKILLs whatever of the group is left.
//! Every event is one line on stderr (the session's `ide.log`, or
//! `supervisor.log` for a job) starting with `atelier-supervisor:`. The
//! environment is never printed.
//!
//! With `--split-output` (jobs) the program's stdout and stderr are pipes
//! the supervisor copies into `stdout.log`, `stderr.log` and `output.log`
//! (see the `split` module); `exit.json` is written once they are drained.

use std::io::{self, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use atelier_os::process::{pids_in_group, ProcessInfo};
use atelier_os::signal::{kill, kill_group};
use atelier_os::Signal;
use serde::{Deserialize, Serialize};
use tokio::process::{Child, Command};
use tokio::signal::unix::{signal, Signal as SignalStream, SignalKind};
use tokio::time::{sleep, timeout, Instant};

use crate::{LaunchError, OutputMode};

mod prepare;
mod remote;
mod split;

pub(crate) use prepare::ENV_FILE;
pub use prepare::{prepare, PrepareInput};
pub use remote::GateEndpoint;
pub(crate) use remote::{EnvFile, ENDPOINT_FILE};

/// The exit record's file name inside the session folder.
pub(crate) const EXIT_FILE: &str = "exit.json";
/// The exit code recorded when the IDE program could not be started at all.
const NOT_STARTED: i32 = 127;
/// Pause between two looks at the process group.
const POLL: Duration = Duration::from_millis(50);
/// The flag that asks for [`OutputMode::Split`].
pub(crate) const SPLIT_FLAG: &str = "--split-output";
/// The flag that asks for the session gate.
pub(crate) const GATE_FLAG: &str = "--gate";

/// The supervisor's command line:
/// `session-run --dir D --grace-ms N [--split-output] [--env-file F] [--gate]
/// -- PROGRAM [ARGS...]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupervisorArgs {
    /// The session folder, where `exit.json` (and the output files) go.
    pub dir: PathBuf,
    /// Time between SIGTERM and SIGKILL when stopping.
    pub grace: Duration,
    /// Where the program's stdout and stderr go: inherited from the
    /// supervisor (`Log`), or split into files (`Split`, `--split-output`).
    pub output: OutputMode,
    /// The IDE program.
    pub program: PathBuf,
    /// The IDE's arguments.
    pub args: Vec<String>,
    /// A file with the IDE's whole environment and the session secret
    /// (remote sessions); read, then removed.
    pub env_file: Option<PathBuf>,
    /// Serve the IDE's socket on a TCP port behind the session gate
    /// (remote sessions; needs `env_file` for the secret).
    pub gate: bool,
}

impl SupervisorArgs {
    /// Parses the arguments that follow `session-run`:
    /// `--dir D --grace-ms N [--split-output] -- PROGRAM [ARGS...]`.
    pub fn parse(argv: &[String]) -> Result<SupervisorArgs, LaunchError> {
        let usage = |what: &str| LaunchError::Usage(what.to_owned());
        let split = argv
            .iter()
            .position(|a| a == "--")
            .ok_or_else(|| usage("missing `--`"))?;
        let (options, command) = (&argv[..split], &argv[split + 1..]);
        let (mut dir, mut grace, mut output) = (None, None, OutputMode::Log);
        let (mut env_file, mut gate) = (None, false);
        let mut options = options.iter();
        while let Some(option) = options.next() {
            if option == SPLIT_FLAG {
                output = OutputMode::Split;
                continue;
            }
            if option == GATE_FLAG {
                gate = true;
                continue;
            }
            let value = options
                .next()
                .ok_or_else(|| usage("an option lacks its value"))?;
            match option.as_str() {
                "--dir" => dir = Some(PathBuf::from(value)),
                "--env-file" => env_file = Some(PathBuf::from(value)),
                "--grace-ms" => {
                    let ms = value
                        .parse()
                        .map_err(|_| usage("--grace-ms takes milliseconds"))?;
                    grace = Some(Duration::from_millis(ms));
                }
                _ => return Err(usage("unknown option")),
            }
        }
        let (program, args) = command
            .split_first()
            .ok_or_else(|| usage("missing program"))?;
        Ok(SupervisorArgs {
            dir: dir.ok_or_else(|| usage("missing --dir"))?,
            grace: grace.ok_or_else(|| usage("missing --grace-ms"))?,
            output,
            program: PathBuf::from(program),
            args: args.to_vec(),
            env_file,
            gate,
        })
    }
}

/// How the IDE ended, as written to `exit.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ExitRecord {
    /// Exit code, if it exited.
    pub(crate) code: Option<i32>,
    /// Signal number, if a signal ended it.
    pub(crate) signal: Option<i32>,
}

impl From<ExitStatus> for ExitRecord {
    fn from(status: ExitStatus) -> Self {
        Self {
            code: status.code(),
            signal: status.signal(),
        }
    }
}

/// Runs the supervisor to the end; returns the process exit code: 0 once the
/// IDE has ended and its record is written, 1 if the supervisor itself failed.
pub fn run(args: SupervisorArgs) -> i32 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(supervise(args)),
        Err(error) => {
            say(&format!("cannot start a runtime: {error}"));
            1
        }
    }
}

/// Starts the IDE, waits for it or for a stop request, drains its output
/// (split mode), records how it ended.
async fn supervise(args: SupervisorArgs) -> i32 {
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(term), Ok(int)) => (term, int),
        (Err(error), _) | (_, Err(error)) => {
            say(&format!("cannot handle signals: {error}"));
            return 1;
        }
    };
    say(&format!("starting {}", args.program.display()));
    let not_started = ExitRecord {
        code: Some(NOT_STARTED),
        signal: None,
    };
    let sinks = match args.output {
        OutputMode::Log => None,
        OutputMode::Split => match split::Sinks::create(&args.dir) {
            Ok(sinks) => Some(sinks),
            Err(error) => {
                say(&format!("cannot create the output files: {error}"));
                return finish(&args.dir, not_started);
            }
        },
    };
    let mut command = Command::new(&args.program);
    command.args(&args.args).stdin(Stdio::null());
    if sinks.is_some() {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    let mut secret = None;
    if let Some(path) = &args.env_file {
        match EnvFile::take(path) {
            Ok(file) => {
                command.env_clear().envs(file.env);
                secret = Some(file.secret);
            }
            Err(error) => {
                say(&format!("cannot read {}: {error}", path.display()));
                return finish(&args.dir, not_started);
            }
        }
    }
    if args.gate {
        // Under a resource manager the supervisor may share a group with
        // its starter: lead one, so a stop reaches the IDE's whole group.
        atelier_os::process::lead_own_group();
        let Some(secret) = secret.take() else {
            say("--gate needs --env-file (the secret)");
            return finish(&args.dir, not_started);
        };
        if let Err(error) = remote::start_gate(&args.dir, secret).await {
            say(&format!("cannot open the session gate: {error}"));
            return finish(&args.dir, not_started);
        }
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            say(&format!("cannot start {}: {error}", args.program.display()));
            return finish(&args.dir, not_started);
        }
    };
    say(&format!("IDE started, pid {}", child.id().unwrap_or(0)));
    let drain = sinks.map(|sinks| split::Drain::start(&mut child, sinks));
    let (status, stop_asked) = wait_or_stop(&mut child, &mut term, &mut int, args.grace).await;
    let record = ended(status);
    if let Some(drain) = drain {
        let deadline = stop_asked.map(|asked| asked + args.grace);
        drain
            .finish(&mut term, &mut int, args.grace, deadline)
            .await;
    }
    finish(&args.dir, record)
}

/// Waits for the IDE to end, or stops it on SIGTERM or SIGINT; also says
/// when a stop was asked.
async fn wait_or_stop(
    child: &mut Child,
    term: &mut SignalStream,
    int: &mut SignalStream,
    grace: Duration,
) -> (io::Result<ExitStatus>, Option<Instant>) {
    let cause = tokio::select! {
        status = child.wait() => return (status, None),
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    let asked = Instant::now();
    (shutdown(child, grace, cause).await, Some(asked))
}

/// Says how the IDE ended; its exit record.
fn ended(status: io::Result<ExitStatus>) -> ExitRecord {
    match status {
        Ok(status) => {
            say(&format!("IDE ended: {status}"));
            ExitRecord::from(status)
        }
        Err(error) => {
            say(&format!("cannot wait for the IDE: {error}"));
            ExitRecord {
                code: None,
                signal: None,
            }
        }
    }
}

/// SIGTERM to the IDE and its group, then SIGKILL to what is left after `grace`.
async fn shutdown(child: &mut Child, grace: Duration, cause: &str) -> io::Result<ExitStatus> {
    say(&format!(
        "{cause} received, stopping the IDE (grace {} ms)",
        grace.as_millis()
    ));
    let deadline = Instant::now() + grace;
    let group = own_group();
    if let Some(pid) = child.id() {
        report(kill(pid as i32, Signal::Term));
    }
    if let Some(pgid) = group {
        // Reaches this process too; its handler is installed, so it only wakes it.
        report(kill_group(pgid, Signal::Term));
    }
    let status = timeout(grace, child.wait()).await.ok();
    while group.is_some_and(|pgid| !others_in_group(pgid).is_empty()) && Instant::now() < deadline {
        sleep(POLL).await;
    }
    if let Some(status) = status {
        kill_rest_of_group(group);
        return status;
    }
    say("the IDE outlived its grace; killing its process group");
    if let Some(pid) = child.id() {
        report(kill(pid as i32, Signal::Kill));
    }
    kill_rest_of_group(group);
    child.wait().await
}

/// This process's group, if it leads it (it does when started by the local
/// backend). When it does not, the group is someone else's and is left alone.
fn own_group() -> Option<i32> {
    let me = std::process::id() as i32;
    ProcessInfo::read(me)
        .filter(|p| p.pgid == me)
        .map(|p| p.pgid)
}

/// Live members of the group other than this process.
fn others_in_group(pgid: i32) -> Vec<i32> {
    let me = std::process::id() as i32;
    pids_in_group(pgid)
        .into_iter()
        .filter(|pid| *pid != me)
        .collect()
}

/// SIGKILLs every other member of the group (a few rounds, for late forks).
fn kill_rest_of_group(group: Option<i32>) {
    let Some(pgid) = group else { return };
    for _ in 0..3 {
        let others = others_in_group(pgid);
        if others.is_empty() {
            return;
        }
        say(&format!(
            "killing {} leftover process(es) of the group",
            others.len()
        ));
        for pid in others {
            report(kill(pid, Signal::Kill));
        }
    }
}

/// Writes the exit record atomically; the supervisor's exit code.
fn finish(dir: &Path, record: ExitRecord) -> i32 {
    match write_record(dir, record) {
        Ok(()) => 0,
        Err(error) => {
            say(&format!("cannot write {EXIT_FILE}: {error}"));
            1
        }
    }
}

fn write_record(dir: &Path, record: ExitRecord) -> io::Result<()> {
    let temp = dir.join(format!("{EXIT_FILE}.tmp"));
    std::fs::write(&temp, serde_json::to_vec(&record)?)?;
    std::fs::rename(&temp, dir.join(EXIT_FILE))
}

/// Logs a failed signal; "already gone" is not a failure.
fn report(sent: Result<bool, atelier_os::OsError>) {
    if let Err(error) = sent {
        say(&format!("{error}"));
    }
}

/// One log line on stderr. A failing stderr is ignored: there is nowhere else to tell.
fn say(message: &str) {
    let _ = writeln!(io::stderr(), "atelier-supervisor: {message}");
}

#[cfg(test)]
mod tests;
