//! The batch script and the `sbatch` command line of a Slurm session.
//!
//! The script is one `exec` of the supervisor with every word single-quoted:
//! nothing in it is ever expanded by the shell. Secrets are not in it (Slurm
//! keeps batch scripts): the IDE's environment, secret included, is in the
//! session folder's `env` file (mode 0600), which the supervisor reads.

use std::path::Path;
use std::time::Duration;

/// Quotes `word` for a POSIX shell: inside single quotes nothing is special
/// but the single quote itself, written as `'\''`.
pub fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// What the batch script runs.
#[derive(Clone, Debug)]
pub(crate) struct ScriptSpec<'a> {
    /// The `atelier` binary as the compute node sees it.
    pub supervisor: &'a Path,
    /// The session folder (shared storage).
    pub dir: &'a Path,
    /// Time between SIGTERM and SIGKILL when stopping.
    pub grace: Duration,
    /// Whether output is split into files (jobs).
    pub split_output: bool,
    /// The program and its arguments, placeholders already replaced.
    pub command: &'a [String],
}

/// The batch script: a fixed comment and one `exec` line of quoted words.
pub(crate) fn batch_script(spec: &ScriptSpec<'_>) -> String {
    let dir = spec.dir.to_string_lossy();
    let env_file = spec.dir.join(super::ENV_FILE);
    let mut words: Vec<String> = vec![
        spec.supervisor.to_string_lossy().into_owned(),
        "session-run".into(),
        "--dir".into(),
        dir.into_owned(),
        "--grace-ms".into(),
        spec.grace.as_millis().to_string(),
        "--env-file".into(),
        env_file.to_string_lossy().into_owned(),
        "--gate".into(),
    ];
    if spec.split_output {
        words.push(crate::supervisor::SPLIT_FLAG.into());
    }
    words.push("--".into());
    words.extend(spec.command.iter().cloned());
    let line: Vec<String> = words.iter().map(|w| shell_quote(w)).collect();
    format!(
        "#!/bin/sh\n# An Atelier session, generated: every word below is quoted.\nexec {}\n",
        line.join(" ")
    )
}

/// The resources and placement of one Slurm job.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SbatchRequest {
    /// The job's name, `atelier-<session id>`.
    pub job_name: String,
    /// The partition.
    pub partition: Option<String>,
    /// CPUs for the one task.
    pub cpus: u32,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// Time limit in minutes; `None` for the partition's default.
    pub minutes: Option<u32>,
    /// GPUs, if any.
    pub gpus: u32,
    /// The working directory (the user's home).
    pub workdir: String,
    /// Where Slurm writes the job's stdout and stderr.
    pub output: String,
}

/// `sbatch`'s arguments (the script comes on stdin). One argument per
/// option, so values never meet a shell; the environment is not exported
/// (`--export=NONE`): the supervisor builds the IDE's from the `env` file.
pub(crate) fn sbatch_args(request: &SbatchRequest) -> Vec<String> {
    let mut args = vec![
        "--parsable".to_owned(),
        format!("--job-name={}", request.job_name),
        "--ntasks=1".to_owned(),
        format!("--cpus-per-task={}", request.cpus),
        format!("--mem={}M", request.memory_mib),
        format!("--chdir={}", request.workdir),
        format!("--output={}", request.output),
        "--open-mode=append".to_owned(),
        "--export=NONE".to_owned(),
        "--no-requeue".to_owned(),
    ];
    if let Some(partition) = &request.partition {
        args.push(format!("--partition={partition}"));
    }
    if let Some(minutes) = request.minutes {
        args.push(format!("--time={minutes}"));
    }
    if request.gpus > 0 {
        args.push(format!("--gpus={}", request.gpus));
    }
    args
}

/// The job id in `sbatch --parsable` output (`ID` or `ID;CLUSTER`).
pub(crate) fn parse_job_id(stdout: &str) -> Option<u64> {
    let line = stdout.lines().find(|l| !l.trim().is_empty())?;
    line.trim().split(';').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_every_shell_character() {
        let nasty = "a'b\"c$(rm -rf /)`x`\\n;&|* ~";
        let script = format!("printf '%s' {}", shell_quote(nasty));
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), nasty);
    }

    #[test]
    fn the_script_is_one_exec_of_quoted_words() {
        let command = vec!["/opt/jupyter/bin/jupyter".to_owned(), "lab; id".to_owned()];
        let spec = ScriptSpec {
            supervisor: Path::new("/usr/bin/atelier"),
            dir: Path::new("/home/a/.atelier/sessions/x"),
            grace: Duration::from_secs(5),
            split_output: true,
            command: &command,
        };
        let script = batch_script(&spec);
        let exec = script.lines().last().unwrap();
        assert!(exec.starts_with("exec '/usr/bin/atelier' 'session-run' '--dir' '/home/a/.atelier/sessions/x' '--grace-ms' '5000' '--env-file' '/home/a/.atelier/sessions/x/env' '--gate' '--split-output' '--' "), "{exec}");
        assert!(
            exec.ends_with("'/opt/jupyter/bin/jupyter' 'lab; id'"),
            "{exec}"
        );
    }

    #[test]
    fn sbatch_gets_one_argument_per_option() {
        let request = SbatchRequest {
            job_name: "atelier-x".into(),
            partition: Some("debug".into()),
            cpus: 2,
            memory_mib: 512,
            minutes: Some(60),
            gpus: 0,
            workdir: "/home/a".into(),
            output: "/home/a/.atelier/sessions/x/ide.log".into(),
        };
        let args = sbatch_args(&request);
        assert!(args.contains(&"--mem=512M".to_owned()));
        assert!(args.contains(&"--partition=debug".to_owned()));
        assert!(args.contains(&"--export=NONE".to_owned()));
        assert!(!args.iter().any(|a| a.starts_with("--gpus")));
        assert_eq!(parse_job_id("42\n"), Some(42));
        assert_eq!(parse_job_id("43;hpc\n"), Some(43));
        assert_eq!(parse_job_id("sbatch: error"), None);
    }
}
