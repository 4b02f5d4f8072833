//! The configuration file's shape. Every field is optional; the doc comment
//! on each is the documentation of the key of the same name.

use std::collections::HashSet;
use std::path::PathBuf;

use atelier_core::SessionKind;
use serde::Deserialize;

use crate::{ByteSize, ConfigError, ListenAddr};

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the server listens on. Default `127.0.0.1:8787`.
    pub listen: Option<ListenAddr>,
    /// Folder for the SQLite database, the session folders and the users
    /// file. Default `/var/lib/atelier` as root, `~/.local/share/atelier`
    /// otherwise.
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL (`postgres://user@host/db`). When set, the store is
    /// PostgreSQL instead of SQLite; required for clusters.
    pub database_url: Option<String>,
    /// This node's name in the cluster and in session records. Default: the
    /// host name.
    pub node_name: Option<String>,
    /// Serve HTTPS with this certificate and key.
    pub tls: Option<TlsConfig>,
    /// Who may log in, and how.
    #[serde(default)]
    pub auth: AuthConfig,
    /// Where the IDEs are installed.
    #[serde(default)]
    pub ide: IdeConfig,
    /// Session lifetime settings.
    #[serde(default)]
    pub sessions: SessionsConfig,
    /// Python installations offered to users.
    #[serde(default)]
    pub python: Vec<InterpreterConfig>,
    /// R installations offered to users.
    #[serde(default)]
    pub r: Vec<InterpreterConfig>,
    /// Resource profiles users can pick.
    #[serde(default)]
    pub profile: Vec<ProfileConfig>,
    /// Clusters sessions can run on; `local` always exists.
    #[serde(default)]
    pub cluster: Vec<ClusterConfig>,
    /// Custom session kinds: any web application started by a command.
    #[serde(default)]
    pub kind: Vec<CustomKind>,
    /// Where Python and R installations are discovered.
    #[serde(default)]
    pub languages: LanguagesConfig,
    /// Background jobs.
    #[serde(default)]
    pub jobs: JobsConfig,
}

/// `[jobs]`: background jobs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    /// Days an ended job and its output are kept before they are removed.
    /// Default 7; fractions allowed (e.g. 0.5).
    pub keep_days: Option<f64>,
}

/// `[languages]`: discovery of Python and R installations, in addition to
/// the `[[python]]` and `[[r]]` entries.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguagesConfig {
    /// Look for installations at all. Default true.
    pub discover: Option<bool>,
    /// Folders whose subfolders are Python installations (`<root>/<version>/bin/python3`),
    /// e.g. `/opt/python` or a pyenv `versions` folder. Default `["/opt/python"]`.
    pub python_roots: Option<Vec<PathBuf>>,
    /// Folders whose subfolders are R installations (`<root>/<version>/bin/R`).
    /// Default `["/opt/R"]`.
    pub r_roots: Option<Vec<PathBuf>>,
    /// Conda installations whose `envs/*` (and base) are offered as Python
    /// versions. Default `["/opt/conda"]`.
    pub conda_roots: Option<Vec<PathBuf>>,
}

/// `[tls]`: HTTPS with a PEM certificate chain and private key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file with the certificate chain.
    pub cert: PathBuf,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The authentication providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthProvider {
    /// Linux accounts through PAM (default when the server runs as root).
    Pam,
    /// The built-in users file with argon2 hashes (default otherwise).
    UsersFile,
}

/// `[auth]`: who may log in.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// `pam` or `users-file`. Default: `pam` as root, `users-file` otherwise.
    pub provider: Option<AuthProvider>,
    /// PAM service name (a file in `/etc/pam.d`). Default `atelier`.
    pub pam_service: Option<String>,
    /// The users file. Default `<data_dir>/users`.
    pub users_file: Option<PathBuf>,
    /// Users who are administrators (with PAM; the users file records roles itself).
    #[serde(default)]
    pub admins: Vec<String>,
    /// Lowest uid that may log in when running as root. Default 1000.
    pub min_uid: Option<u32>,
    /// When not running as root, the users allowed to log in (their sessions
    /// all run as the server's own account). Default: the account's own name.
    pub allowed_users: Option<Vec<String>>,
    /// How long a browser login lasts, in hours. Default 12.
    pub login_hours: Option<u32>,
    /// Let administrators open other users' sessions through the proxy. Default false.
    pub admins_can_open_sessions: Option<bool>,
}

/// `[ide]`: where each IDE is installed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdeConfig {
    /// JupyterLab and Notebook: the `jupyter` executable.
    pub jupyter: Option<IdePath>,
    /// VS Code: the `code-server` executable.
    pub vscode: Option<IdePath>,
    /// RStudio: the `rserver` executable.
    pub rstudio: Option<IdePath>,
}

/// `[ide.NAME]`: the path of one IDE.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdePath {
    /// Absolute path of the executable.
    pub path: PathBuf,
}

/// `[sessions]`: lifetime of sessions.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsConfig {
    /// Seconds an IDE may take to answer before the session fails. Default 120.
    pub start_timeout_secs: Option<u64>,
    /// Seconds between the stop signal and the kill. Default 10.
    pub stop_grace_secs: Option<u64>,
    /// Most active sessions one user may have. Default 10.
    pub max_per_user: Option<u32>,
    /// Seconds without activity (proxied traffic or a busy kernel) after
    /// which a session is stopped. Default 0: never.
    pub idle_timeout_secs: Option<u64>,
    /// Idle timeout per kind, overriding `idle_timeout_secs`, e.g.
    /// `{ vscode = 7200 }`; 0 turns it off for that kind.
    #[serde(default)]
    pub idle_timeout_secs_by_kind: std::collections::BTreeMap<String, u64>,
    /// Seconds after which any session is stopped, busy or not. Default 0: never.
    pub max_age_secs: Option<u64>,
}

/// `[[python]]` or `[[r]]`: one interpreter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterpreterConfig {
    /// Name shown to users, e.g. `3.12`. Default: derived from the path.
    pub name: Option<String>,
    /// Absolute path of the interpreter (`python3`, `R`).
    pub path: PathBuf,
}

/// `[[profile]]`: a resource profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// Name users pick it by.
    pub name: String,
    /// CPUs (may be fractional).
    pub cpus: Option<f64>,
    /// Memory limit, e.g. `2G`.
    pub memory: Option<ByteSize>,
    /// Most active sessions one user may run with this profile.
    pub max_sessions: Option<u32>,
    /// Users who may pick it. With `groups` also empty: everyone.
    #[serde(default)]
    pub users: Vec<String>,
    /// Linux groups whose members may pick it.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// `[[cluster]]`: a place sessions can run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Name users pick it by.
    pub name: String,
    /// `local` (this server's own processes). Other backends come later.
    pub backend: String,
}

/// `[[kind]]`: a custom session kind: any web application started by a
/// command that listens on a unix socket.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomKind {
    /// Kind name used in the API, e.g. `dash`.
    pub name: SessionKind,
    /// Label shown in the UI. Default: the name.
    pub label: Option<String>,
    /// Program and arguments. `{socket}` is replaced by the unix socket path
    /// the app must listen on, `{base_url}` by `/s/<id>/`. The session secret
    /// is in the environment as `ATELIER_SESSION_SECRET`.
    pub command: Vec<String>,
    /// Path probed (with the base URL prefix) until it answers; default `/`.
    pub ready_path: Option<String>,
    /// Whether the proxy strips `/s/<id>` before forwarding. Default false.
    pub strip_prefix: Option<bool>,
}

const BUILTIN_KINDS: [&str; 4] = [
    SessionKind::JUPYTERLAB,
    SessionKind::NOTEBOOK,
    SessionKind::VSCODE,
    SessionKind::RSTUDIO,
];

impl Config {
    /// Checks the rules that span several keys.
    pub(crate) fn check(&self, origin: &str) -> Result<(), ConfigError> {
        unique(
            origin,
            "profile",
            self.profile.iter().map(|p| p.name.as_str()),
        )?;
        unique(
            origin,
            "cluster",
            self.cluster.iter().map(|c| c.name.as_str()),
        )?;
        unique(origin, "kind", self.kind.iter().map(|k| k.name.as_str()))?;
        for cluster in &self.cluster {
            if cluster.backend != "local" {
                return Err(ConfigError::general(
                    origin,
                    format!(
                        "cluster {:?}: backend {:?} is not available in this version; use \"local\"",
                        cluster.name, cluster.backend
                    ),
                ));
            }
        }
        for kind in &self.kind {
            self.check_kind(origin, kind)?;
        }
        if self
            .jobs
            .keep_days
            .is_some_and(|days| !(0.0..=36500.0).contains(&days))
        {
            return Err(ConfigError::general(
                origin,
                "jobs.keep_days must be between 0 and 36500",
            ));
        }
        for profile in &self.profile {
            if profile
                .cpus
                .is_some_and(|cpus| !(cpus > 0.0 && cpus <= 4096.0))
            {
                return Err(ConfigError::general(
                    origin,
                    format!("profile {:?}: cpus must be above 0", profile.name),
                ));
            }
        }
        Ok(())
    }

    fn check_kind(&self, origin: &str, kind: &CustomKind) -> Result<(), ConfigError> {
        if BUILTIN_KINDS.contains(&kind.name.as_str()) {
            return Err(ConfigError::general(
                origin,
                format!(
                    "kind {:?} is built in; give the custom kind another name",
                    kind.name.as_str()
                ),
            ));
        }
        let program_ok = kind.command.first().is_some_and(|p| p.starts_with('/'));
        if !program_ok {
            return Err(ConfigError::general(
                origin,
                format!(
                    "kind {:?}: command must start with the program's absolute path",
                    kind.name.as_str()
                ),
            ));
        }
        if !kind.command.iter().any(|arg| arg.contains("{socket}")) {
            return Err(ConfigError::general(
                origin,
                format!(
                    "kind {:?}: command must pass {{socket}}, the unix socket the app listens on",
                    kind.name.as_str()
                ),
            ));
        }
        Ok(())
    }
}

fn unique<'a>(
    origin: &str,
    what: &str,
    names: impl Iterator<Item = &'a str>,
) -> Result<(), ConfigError> {
    let mut seen = HashSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(ConfigError::general(
                origin,
                format!("{what} {name:?} is defined twice"),
            ));
        }
    }
    Ok(())
}
