//! Checking a job request and turning it into what runs: every path is
//! checked as the user who will run it, so a missing script, an unknown
//! version or profile, or a working directory the user cannot write is a
//! clear error at submit time, and nothing is recorded.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use atelier_core::{InvalidInput, Job, JobId, JobState, NewJob, Timestamp, User};
use atelier_launcher::Limits;
use atelier_os::Account;

use crate::languages::{self, Interpreter, Language, Languages};
use crate::manager::SessionManager;
use crate::profiles::Profile;
use crate::SessionError;

/// A checked job request: what runs, as whom, where.
pub(crate) struct JobPlan {
    pub(crate) account: Account,
    /// `/usr/bin/env`, which changes to the working directory without a shell.
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) limits: Option<Limits>,
    /// The chosen profile, for what it asks of a cluster.
    pub(crate) chosen_profile: Option<Profile>,
    name: String,
    command: Vec<String>,
    workdir: String,
    user_env: BTreeMap<String, String>,
    python: Option<String>,
    r: Option<String>,
    profile: Option<String>,
}

impl JobPlan {
    /// Checks `request` for `user`.
    pub(crate) fn resolve(
        manager: &SessionManager,
        user: &User,
        request: &NewJob,
    ) -> Result<JobPlan, SessionError> {
        check_command(request)?;
        check_env(&request.env)?;
        let profile = manager
            .settings
            .profiles
            .choose(&user.name, request.profile.as_deref())?;
        let languages = &manager.settings.languages;
        let python = choose(languages, Language::Python, request.python.as_deref())?;
        let r = choose(languages, Language::R, request.r.as_deref())?;
        let account = manager.account_for(&user.name)?;
        let workdir = request
            .workdir
            .clone()
            .unwrap_or_else(|| account.home.display().to_string());
        check_workdir(&account, &workdir)?;
        let mut env: Vec<(String, String)> = languages::session_env(python.as_ref(), r.as_ref())
            .into_iter()
            .filter(|(key, _)| key != "JUPYTER_PATH")
            .collect();
        let path = env
            .iter()
            .find(|(key, _)| key == "PATH")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let command = command_line(request, &account, &path, python.as_ref(), r.as_ref())?;
        env.extend(request.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut args = vec!["-C".to_owned(), workdir.clone(), "--".to_owned()];
        args.extend(command.iter().cloned());
        Ok(JobPlan {
            name: job_name(request, &command)?,
            program: PathBuf::from("/usr/bin/env"),
            args,
            env,
            limits: profile.as_ref().map(|p| p.limits()),
            chosen_profile: profile.clone(),
            account,
            command,
            workdir,
            user_env: request.env.clone(),
            python: python.map(|p| p.name),
            r: r.map(|r| r.name),
            profile: profile.map(|p| p.name),
        })
    }

    /// The job's record, `pending`.
    pub(crate) fn record(&self, user: &User, cluster: &str, node: &str) -> Job {
        Job {
            id: JobId::generate(),
            user: user.name.clone(),
            name: self.name.clone(),
            state: JobState::Pending,
            command: self.command.clone(),
            workdir: self.workdir.clone(),
            env: self.user_env.clone(),
            python: self.python.clone(),
            r: self.r.clone(),
            profile: self.profile.clone(),
            cluster: cluster.to_owned(),
            node: Some(node.to_owned()),
            created_at: Timestamp::now(),
            started_at: None,
            ended_at: None,
            exit_code: None,
            error: None,
            handle: None,
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> SessionError {
    InvalidInput::new(field, message).into()
}

/// Command or script; the cluster and queue are checked by
/// `SessionManager::place`.
fn check_command(request: &NewJob) -> Result<(), SessionError> {
    match (&request.command, &request.script) {
        (Some(_), Some(_)) => Err(invalid(
            "command",
            "give either command or script, not both",
        )),
        (None, None) => Err(invalid(
            "command",
            "give a command (an argument list) or a script",
        )),
        (Some(command), None) if command.is_empty() || command[0].is_empty() => {
            Err(invalid("command", "the command needs at least a program"))
        }
        (Some(_), None) if !request.args.is_empty() => Err(invalid(
            "args",
            "args go with a script; put a command's arguments in the command list",
        )),
        _ => Ok(()),
    }
}

fn check_env(env: &BTreeMap<String, String>) -> Result<(), SessionError> {
    for (key, value) in env {
        let mut chars = key.chars();
        let well_formed = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !well_formed || key.len() > 128 {
            return Err(invalid(
                "env",
                format!("{key:?} is not a variable name (letters, digits, '_')"),
            ));
        }
        if key.starts_with("ATELIER_") {
            return Err(invalid("env", format!("{key} is reserved for Atelier")));
        }
        if value.contains('\0') {
            return Err(invalid(
                "env",
                format!("the value of {key} contains a NUL byte"),
            ));
        }
    }
    Ok(())
}

fn choose(
    languages: &Languages,
    language: Language,
    asked: Option<&str>,
) -> Result<Option<Interpreter>, SessionError> {
    let list = match language {
        Language::Python => languages.python(),
        Language::R => languages.r(),
    };
    let Some(name) = asked else {
        let preferred = match language {
            Language::Python => languages.default_python(),
            Language::R => languages.default_r(),
        };
        return Ok(preferred
            .or_else(|| list.iter().find(|i| i.available))
            .cloned());
    };
    let field = if language == Language::Python {
        "python"
    } else {
        "r"
    };
    match languages.find(language, name) {
        Some(found) if found.available => Ok(Some(found.clone())),
        Some(found) => Err(invalid(
            field,
            format!(
                "{} {name} cannot be used: {}",
                language.label(),
                found.reason.clone().unwrap_or_default()
            ),
        )),
        None => Err(invalid(
            field,
            format!("there is no {} version {name:?} here", language.label()),
        )),
    }
}

/// The argument vector that runs: interpreter (by the script's extension)
/// and script, or the command with its program resolved on the job's PATH.
fn command_line(
    request: &NewJob,
    account: &Account,
    path: &str,
    python: Option<&Interpreter>,
    r: Option<&Interpreter>,
) -> Result<Vec<String>, SessionError> {
    if let Some(command) = &request.command {
        let program = resolve_program(&command[0], path, account)?;
        return Ok(std::iter::once(program)
            .chain(command[1..].iter().cloned())
            .collect());
    }
    let script = request.script.as_deref().unwrap_or_default();
    if !script.starts_with('/') {
        return Err(invalid(
            "script",
            format!("{script:?} is not an absolute path"),
        ));
    }
    if !as_user(account, &["-f", script, "-a", "-r", script]) {
        return Err(invalid(
            "script",
            format!("{script} does not exist or you cannot read it"),
        ));
    }
    let interpreter = match Path::new(script).extension().and_then(|e| e.to_str()) {
        Some("py") => Some(
            python
                .map(|p| p.path.display().to_string())
                .ok_or_else(|| invalid("python", "there is no Python here to run a .py script"))?,
        ),
        Some("R" | "r") => Some(rscript(r)?),
        Some("sh") => Some("/bin/bash".to_owned()),
        _ if as_user(account, &["-x", script]) => None,
        _ => {
            return Err(invalid(
                "script",
                format!(
                "{script} is not executable, and its extension names no interpreter (.py, .R, .sh)"
            ),
            ))
        }
    };
    let args = request.args.iter().cloned();
    Ok(interpreter
        .into_iter()
        .chain(std::iter::once(script.to_owned()))
        .chain(args)
        .collect())
}

fn rscript(r: Option<&Interpreter>) -> Result<String, SessionError> {
    let r = r.ok_or_else(|| invalid("r", "there is no R here to run a .R script"))?;
    let rscript = r.path.with_file_name("Rscript");
    if rscript.is_file() {
        Ok(rscript.display().to_string())
    } else {
        Err(invalid(
            "r",
            format!("R {} has no Rscript next to it", r.name),
        ))
    }
}

/// A program by absolute path, or looked up on `path` like a shell would.
fn resolve_program(program: &str, path: &str, account: &Account) -> Result<String, SessionError> {
    if program.contains('=') {
        return Err(invalid("command", "the program name may not contain '='"));
    }
    let candidate = if program.contains('/') {
        if !program.starts_with('/') {
            return Err(invalid(
                "command",
                format!("{program:?} is not an absolute path"),
            ));
        }
        Some(program.to_owned())
    } else {
        path.split(':')
            .map(|dir| format!("{dir}/{program}"))
            .find(|c| is_executable(Path::new(c)))
    };
    match candidate {
        Some(found) if as_user(account, &["-f", &found, "-a", "-x", &found]) => Ok(found),
        _ => Err(invalid(
            "command",
            format!("there is no program {program:?} that you can run"),
        )),
    }
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn check_workdir(account: &Account, workdir: &str) -> Result<(), SessionError> {
    if !workdir.starts_with('/') {
        return Err(invalid(
            "workdir",
            format!("{workdir:?} is not an absolute path"),
        ));
    }
    if workdir.contains('\0')
        || !as_user(
            account,
            &["-d", workdir, "-a", "-w", workdir, "-a", "-x", workdir],
        )
    {
        return Err(invalid(
            "workdir",
            format!("{workdir} is not a folder you can write to"),
        ));
    }
    Ok(())
}

fn job_name(request: &NewJob, command: &[String]) -> Result<String, SessionError> {
    let given = request.name.as_deref().map(str::trim).unwrap_or("");
    if given.chars().count() > 100 || given.chars().any(char::is_control) {
        return Err(invalid(
            "name",
            "a job name is at most 100 characters, without control characters",
        ));
    }
    if !given.is_empty() {
        return Ok(given.to_owned());
    }
    let main = request
        .script
        .as_deref()
        .unwrap_or_else(|| command[0].as_str());
    Ok(Path::new(main)
        .file_name()
        .map_or(main.to_owned(), |n| n.to_string_lossy().into_owned()))
}

/// Runs `/usr/bin/test ARGS` as the account: the one true answer to "can
/// this user read/write/run that", ACLs and groups included.
fn as_user(account: &Account, test_args: &[&str]) -> bool {
    let mut command = Command::new("/usr/bin/test");
    command
        .args(test_args)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if atelier_os::spawn::as_user(&mut command, account).is_err() {
        return false;
    }
    command.status().is_ok_and(|status| status.success())
}
