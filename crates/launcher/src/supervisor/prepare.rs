//! `atelier session-prepare --dir D`: run as the session's user (never
//! root) before a session is submitted to another node. It creates the
//! session folder on shared storage (missing parents too, mode 0700), and
//! writes the `env` file and the session's files from the JSON on stdin.
//! Running as the user means a symlink the user planted in their own home
//! can only lead somewhere the user could write anyway.

use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::EnvFile;
use crate::local::files;

/// The session folder's file with the IDE's environment and the secret.
pub(crate) const ENV_FILE: &str = "env";

/// What `session-prepare` reads on stdin.
#[derive(Serialize, Deserialize)]
pub struct PrepareInput {
    /// The IDE's whole environment.
    pub env: Vec<(String, String)>,
    /// The session secret, for the gate.
    pub secret: String,
    /// Files to write, relative to the folder.
    pub files: Vec<(PathBuf, String)>,
}

/// Names in the session folder that only Atelier writes.
const RESERVED: [&str; 11] = [
    ENV_FILE,
    "endpoint.json",
    "endpoint.json.tmp",
    crate::SOCKET_FILE,
    crate::output::LOG_FILE,
    crate::output::SUPERVISOR_LOG_FILE,
    crate::output::STDOUT_FILE,
    crate::output::STDERR_FILE,
    crate::output::COMBINED_FILE,
    super::EXIT_FILE,
    "exit.json.tmp",
];

/// Creates `dir` and writes what `input` holds; says what failed.
pub fn prepare(dir: &Path, input: PrepareInput) -> Result<(), String> {
    if !dir.is_absolute() {
        return Err(format!("{} is not an absolute path", dir.display()));
    }
    if let Some((path, _)) = input
        .files
        .iter()
        .find(|(path, _)| !files::is_plain_relative(path, &RESERVED))
    {
        return Err(format!("refusing to write {}", path.display()));
    }
    if let Some(parent) = dir.parent() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let env = EnvFile {
        env: input.env,
        secret: input.secret,
    };
    let text = serde_json::to_vec(&env).map_err(|e| e.to_string())?;
    let env_path = dir.join(ENV_FILE);
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&env_path)
        .and_then(|mut file| file.write_all(&text))
        .map_err(|e| format!("cannot write {}: {e}", env_path.display()))?;
    files::write_files(dir, &input.files, None)
        .map_err(|(path, e)| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn input(files: Vec<(PathBuf, String)>) -> PrepareInput {
        PrepareInput {
            env: vec![("A".into(), "1".into())],
            secret: "s".into(),
            files,
        }
    }

    #[test]
    fn creates_the_folder_env_file_and_files() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join(".atelier/sessions/x");
        let files = vec![(PathBuf::from("k/kernel.json"), "{dir}".to_owned())];
        prepare(&dir, input(files)).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&home.path().join(".atelier")), 0o700);
        assert_eq!(mode(&dir.join(ENV_FILE)), 0o600);
        let env = EnvFile::take(&dir.join(ENV_FILE)).unwrap();
        assert_eq!(env.secret, "s");
        assert!(!dir.join(ENV_FILE).exists(), "taken means removed");
        let kernel = std::fs::read_to_string(dir.join("k/kernel.json")).unwrap();
        assert_eq!(kernel, dir.to_string_lossy());
        // A second prepare of the same session is refused.
        assert!(prepare(&dir, input(vec![])).is_err());
    }

    #[test]
    fn refuses_reserved_or_escaping_files() {
        let home = tempfile::tempdir().unwrap();
        for bad in ["env", "../x", "/etc/x", "endpoint.json"] {
            let dir = home.path().join(format!("s{}", bad.len()));
            let files = vec![(PathBuf::from(bad), String::new())];
            assert!(prepare(&dir, input(files)).is_err(), "{bad}");
        }
        assert!(prepare(Path::new("relative"), input(vec![])).is_err());
    }
}
