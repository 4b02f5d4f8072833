//! Split output (`--split-output`, jobs): the program's stdout and stderr are
//! pipes; every chunk read from one goes to its own file (`stdout.log`,
//! `stderr.log`) and to `output.log`, so the combined file has both in the
//! order they arrived. Files are written without buffering: a chunk is
//! readable by the server as soon as the supervisor has read it.
//!
//! A process the program started may keep a pipe open after the program
//! ended. The pipes are read until end of file, but once the program has
//! ended, only while they keep bringing data ([`IDLE`]), and after a stop
//! request only for the grace period.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atelier_os::signal::kill_group;
use atelier_os::Signal;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Child;
use tokio::signal::unix::Signal as SignalStream;
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};

use super::{kill_rest_of_group, own_group, report, say};
use crate::output::{COMBINED_FILE, STDERR_FILE, STDOUT_FILE};

/// After the program ended, the pipes are given up when nothing came for this long.
const IDLE: Duration = Duration::from_secs(1);
/// After the program ended, the pipes are read at least this long (what it
/// wrote just before it ended), even when a stop's deadline has passed.
const LAST_READ: Duration = Duration::from_millis(100);
/// The most read from a pipe at once.
const CHUNK: usize = 64 * 1024;

/// The three output files, open for appending.
#[derive(Debug)]
pub(super) struct Sinks {
    stdout: File,
    stderr: File,
    combined: File,
}

impl Sinks {
    /// Creates (or opens, to append) the output files in `dir`, mode 0600,
    /// never through a symlink. The supervisor runs as the session's user,
    /// so they are the user's.
    pub(super) fn create(dir: &Path) -> io::Result<Sinks> {
        let open = |name: &str| {
            OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(dir.join(name))
                .map_err(|error| io::Error::new(error.kind(), format!("{name}: {error}")))
        };
        Ok(Sinks {
            stdout: open(STDOUT_FILE)?,
            stderr: open(STDERR_FILE)?,
            combined: open(COMBINED_FILE)?,
        })
    }
}

/// When a pipe last brought data.
#[derive(Debug)]
struct Activity(Mutex<Instant>);

impl Activity {
    fn touch(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    fn last(&self) -> Instant {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The task that copies the program's pipes into the files.
#[derive(Debug)]
pub(super) struct Drain {
    task: JoinHandle<()>,
    activity: Arc<Activity>,
}

impl Drain {
    /// Takes the child's stdout and stderr pipes and starts copying them.
    pub(super) fn start(child: &mut Child, sinks: Sinks) -> Drain {
        let activity = Arc::new(Activity(Mutex::new(Instant::now())));
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        let task = tokio::spawn(copy_both(stdout, stderr, sinks, Arc::clone(&activity)));
        Drain { task, activity }
    }

    /// Called once the program has ended: waits until both pipes reach end
    /// of file, or were idle for [`IDLE`], or `deadline` (set when a stop
    /// was asked) has passed. A stop asked meanwhile (SIGTERM, SIGINT) sends
    /// SIGTERM to the rest of the group and sets the deadline to `grace`
    /// from then; when the deadline ends the draining, the rest of the group
    /// is killed.
    pub(super) async fn finish(
        mut self,
        term: &mut SignalStream,
        int: &mut SignalStream,
        grace: Duration,
        mut deadline: Option<Instant>,
    ) {
        let ended = Instant::now();
        loop {
            let quiet_until = self.activity.last().max(ended) + IDLE;
            let end = deadline.map_or(quiet_until, |d| d.min(quiet_until));
            let end = end.max(ended + LAST_READ);
            if Instant::now() >= end {
                break;
            }
            tokio::select! {
                _ = &mut self.task => return,
                _ = sleep_until(end) => {}
                _ = term.recv() => deadline = Some(stop_asked(deadline, grace, "SIGTERM")),
                _ = int.recv() => deadline = Some(stop_asked(deadline, grace, "SIGINT")),
            }
        }
        self.task.abort();
        if deadline.is_some_and(|d| Instant::now() >= d) {
            say("stopped reading the output after the grace period");
            kill_rest_of_group(own_group());
        } else {
            say("the output stayed open but idle after the IDE ended; stopped reading it");
        }
    }
}

/// A stop asked while the output drains: SIGTERM to the rest of the group;
/// the draining ends `grace` from now at the latest (or earlier, if an
/// earlier stop said so).
fn stop_asked(deadline: Option<Instant>, grace: Duration, cause: &str) -> Instant {
    say(&format!(
        "{cause} received while reading the output, stopping the group (grace {} ms)",
        grace.as_millis()
    ));
    if let Some(pgid) = own_group() {
        // Reaches this process too; its handler is installed, so it only wakes it.
        report(kill_group(pgid, Signal::Term));
    }
    let new = Instant::now() + grace;
    deadline.map_or(new, |d| d.min(new))
}

/// Copies both pipes (when present) until each reaches end of file.
async fn copy_both(
    stdout: Option<impl AsyncRead + Unpin>,
    stderr: Option<impl AsyncRead + Unpin>,
    sinks: Sinks,
    activity: Arc<Activity>,
) {
    let out = async {
        if let Some(pipe) = stdout {
            pump(pipe, &sinks.stdout, &sinks.combined, &activity, STDOUT_FILE).await;
        }
    };
    let err = async {
        if let Some(pipe) = stderr {
            pump(pipe, &sinks.stderr, &sinks.combined, &activity, STDERR_FILE).await;
        }
    };
    tokio::join!(out, err);
}

/// Copies one pipe into `own` and `combined`, chunk by chunk, until end of
/// file. A failed write is reported once and the pipe is still read, so the
/// program never blocks on a full pipe.
async fn pump(
    mut pipe: impl AsyncRead + Unpin,
    own: &File,
    combined: &File,
    activity: &Activity,
    name: &str,
) {
    let (mut own, mut combined) = (own, combined);
    let mut buffer = vec![0; CHUNK];
    let mut reported = false;
    loop {
        let read = match pipe.read(&mut buffer).await {
            Ok(0) => return,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                say(&format!("cannot read the output for {name}: {error}"));
                return;
            }
        };
        activity.touch();
        let chunk = &buffer[..read];
        let own_written = own.write_all(chunk);
        let combined_written = combined.write_all(chunk);
        if let Err(error) = own_written.and(combined_written) {
            if !reported {
                say(&format!("cannot write the output of {name}: {error}"));
                reported = true;
            }
        }
    }
}
