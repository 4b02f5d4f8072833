//! What a session's program prints, for jobs: kept in one log with the
//! supervisor's lines ([`OutputMode::Log`], the IDEs' way) or split into
//! files that can be read from any offset ([`OutputMode::Split`]).

use serde::{Deserialize, Serialize};

/// The IDE's log, also the supervisor's stderr, in [`OutputMode::Log`].
pub(crate) const LOG_FILE: &str = "ide.log";
/// The supervisor's own lines in [`OutputMode::Split`].
pub(crate) const SUPERVISOR_LOG_FILE: &str = "supervisor.log";
/// The program's stdout in [`OutputMode::Split`].
pub(crate) const STDOUT_FILE: &str = "stdout.log";
/// The program's stderr in [`OutputMode::Split`].
pub(crate) const STDERR_FILE: &str = "stderr.log";
/// Stdout and stderr together, in arrival order, in [`OutputMode::Split`].
pub(crate) const COMBINED_FILE: &str = "output.log";

/// Where the program's stdout and stderr go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputMode {
    /// Everything, the supervisor's lines included, into the session's
    /// `ide.log` (for IDEs; read with [`crate::Backend::log_tail`]).
    #[default]
    Log,
    /// For jobs: the program's stdout into `stdout.log`, its stderr into
    /// `stderr.log`, both into `output.log` in arrival order, and the
    /// supervisor's lines into `supervisor.log`. Read with
    /// [`crate::Backend::read_output`].
    Split,
}

impl OutputMode {
    /// True for [`OutputMode::Log`] (the default, left out of handles).
    pub(crate) fn is_log(&self) -> bool {
        *self == OutputMode::Log
    }
}

/// One of the output files of an [`OutputMode::Split`] session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutputStream {
    /// Stdout and stderr together, in the order they arrived (`output.log`).
    Combined,
    /// Stdout only (`stdout.log`).
    Stdout,
    /// Stderr only (`stderr.log`).
    Stderr,
}

impl OutputStream {
    /// The file of this stream inside the session folder.
    pub(crate) fn file_name(self) -> &'static str {
        match self {
            OutputStream::Combined => COMBINED_FILE,
            OutputStream::Stdout => STDOUT_FILE,
            OutputStream::Stderr => STDERR_FILE,
        }
    }
}

/// Bytes read from an output stream (see [`crate::Backend::read_output`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutputChunk {
    /// The bytes from the requested offset on, at most the requested amount.
    /// Raw output: not necessarily UTF-8, and may end inside a character.
    pub data: Vec<u8>,
    /// The offset to ask for next: the requested offset plus `data.len()`.
    pub next_offset: u64,
    /// The stream's length when it was read; `next_offset < size` means
    /// more is already there.
    pub size: u64,
}
