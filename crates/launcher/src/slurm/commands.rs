//! Running Slurm's commands: as root for queries and control (`squeue`,
//! `sinfo`, `scancel`), as the session's user for `sbatch`, always with an
//! argument vector and a clean environment, and counted (the count is the
//! cluster's load from Atelier, reported in benchmarks and metrics).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// Longest any one Slurm command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the commands are and how they are called.
#[derive(Debug)]
pub(crate) struct Commands {
    bin: PathBuf,
    conf: Option<PathBuf>,
    run: AtomicU64,
}

/// What a command printed, or why it failed.
pub(crate) type Outcome = Result<String, String>;

impl Commands {
    pub(crate) fn new(bin: PathBuf, conf: Option<PathBuf>) -> Self {
        Self {
            bin,
            conf,
            run: AtomicU64::new(0),
        }
    }

    /// How many Slurm commands have been started so far.
    pub(crate) fn count(&self) -> u64 {
        self.run.load(Ordering::Relaxed)
    }

    /// `program args…` with only `PATH`, `LANG` and `SLURM_CONF` set.
    pub(crate) fn command(&self, program: &str, args: &[String]) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command
            .args(args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(conf) = &self.conf {
            command.env("SLURM_CONF", conf);
        }
        command
    }

    /// Runs `command` (with `stdin` written to it, if given) and returns its
    /// stdout, or its stderr's message when it fails.
    pub(crate) async fn run(&self, mut command: Command, stdin: Option<&[u8]>) -> Outcome {
        self.run.fetch_add(1, Ordering::Relaxed);
        let program = command.as_std().get_program().to_owned();
        let name = Path::new(&program)
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        if stdin.is_some() {
            command.stdin(Stdio::piped());
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot run {name}: {e}"))?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(input)
                .await
                .map_err(|e| format!("cannot write to {name}: {e}"))?;
        }
        let output = tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output())
            .await
            .map_err(|_| format!("{name} did not answer within {COMMAND_TIMEOUT:?}"))?
            .map_err(|e| format!("{name} failed: {e}"))?;
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let message = stderr.trim().lines().last().unwrap_or("").trim();
        Err(if message.is_empty() {
            format!("{name} failed ({})", output.status)
        } else {
            message.to_owned()
        })
    }
}

/// One partition as `sinfo` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    /// Its name.
    pub name: String,
    /// Whether Slurm uses it when a job names none.
    pub default: bool,
    /// CPUs of its largest node.
    pub cpus: u32,
    /// Memory of its largest node, in MiB.
    pub memory_mib: u64,
    /// Its time limit as Slurm prints it (`infinite`, `1:00:00`, …).
    pub time_limit: String,
}

/// A Slurm time limit (`infinite`, `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`,
/// `D-HH:MM`, `D-HH:MM:SS`) in whole minutes; `None` for no limit or text
/// that is not a time.
pub(crate) fn parse_time_limit(text: &str) -> Option<u32> {
    let (days, rest) = match text.split_once('-') {
        Some((days, rest)) => (days.parse::<u32>().ok()?, rest),
        None => (0, text),
    };
    let parts: Vec<u32> = rest
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let with_days = text.contains('-');
    let (hours, minutes, seconds) = match (with_days, &parts[..]) {
        (false, &[m]) => (0, m, 0),
        (false, &[m, s]) => (0, m, s),
        (_, &[h, m, s]) => (h, m, s),
        (true, &[h]) => (h, 0, 0),
        (true, &[h, m]) => (h, m, 0),
        _ => return None,
    };
    Some(days * 1440 + hours * 60 + minutes + seconds.div_ceil(60))
}

/// The `sinfo` arguments that [`parse_partitions`] reads.
pub(crate) fn sinfo_args() -> Vec<String> {
    ["--noheader", "--format=%P|%c|%m|%l"]
        .map(str::to_owned)
        .to_vec()
}

/// Parses `sinfo --noheader --format=%P|%c|%m|%l`: one line per partition
/// and node configuration; a partition's size is that of its largest node.
pub(crate) fn parse_partitions(text: &str) -> Vec<Partition> {
    let mut partitions: Vec<Partition> = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.trim().split('|').collect();
        let [name, cpus, memory, limit] = fields[..] else {
            continue;
        };
        let default = name.ends_with('*');
        let name = name.trim_end_matches('*').to_owned();
        let cpus = cpus.trim_end_matches('+').parse().unwrap_or(0);
        let memory_mib = memory.trim_end_matches('+').parse().unwrap_or(0);
        match partitions.iter_mut().find(|p| p.name == name) {
            Some(known) => {
                known.cpus = known.cpus.max(cpus);
                known.memory_mib = known.memory_mib.max(memory_mib);
            }
            None => partitions.push(Partition {
                name,
                default,
                cpus,
                memory_mib,
                time_limit: limit.to_owned(),
            }),
        }
    }
    partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_read_with_their_largest_node() {
        let text =
            "debug*|2|3000|1:00:00\nlong|2|3000|infinite\nlong|8|64000+|infinite\nbad line\n";
        let partitions = parse_partitions(text);
        assert_eq!(partitions.len(), 2);
        assert!(partitions[0].default);
        assert_eq!(partitions[0].time_limit, "1:00:00");
        assert_eq!((partitions[1].cpus, partitions[1].memory_mib), (8, 64000));
        assert!(!partitions[1].default);
    }

    #[test]
    fn time_limits_in_every_slurm_form() {
        for (text, minutes) in [
            ("1:00:00", Some(60)),
            ("7-00:00:00", Some(7 * 1440)),
            ("30", Some(30)),
            ("30:30", Some(31)),
            ("2-12", Some(2 * 1440 + 720)),
            ("1-02:03", Some(1440 + 123)),
            ("infinite", None),
            ("UNLIMITED", None),
            ("", None),
        ] {
            assert_eq!(parse_time_limit(text), minutes, "{text}");
        }
    }

    #[tokio::test]
    async fn failures_carry_the_commands_message_and_are_counted() {
        let commands = Commands::new("/bin".into(), None);
        let args = [
            "-c".to_owned(),
            "echo 'sbatch: error: Batch job submission failed' >&2; exit 1".to_owned(),
        ];
        let error = commands
            .run(commands.command("sh", &args), None)
            .await
            .unwrap_err();
        assert_eq!(error, "sbatch: error: Batch job submission failed");
        let ok = commands
            .run(commands.command("cat", &[]), Some(b"42"))
            .await;
        assert_eq!(ok.unwrap(), "42");
        assert_eq!(commands.count(), 2);
    }
}
