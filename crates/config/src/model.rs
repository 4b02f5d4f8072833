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
    /// GPUs, on Slurm clusters (`--gpus`, up to the cluster's `max_gpus`).
    /// Local sessions are not given GPUs: a profile with GPUs is refused
    /// on the local cluster.
    pub gpus: Option<u32>,
    /// Time limit in minutes on Slurm clusters (`--time`); default: the
    /// cluster's `default_minutes`. Local sessions use `max_age_secs`.
    pub time_limit_minutes: Option<u32>,
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
    /// `local` (this server's own processes) or `slurm`.
    pub backend: String,
    /// Slurm: the folder holding `sbatch`, `squeue`, `scancel` and `sinfo`.
    /// Default `/usr/bin`.
    pub slurm_bin: Option<PathBuf>,
    /// Slurm: `SLURM_CONF` for those commands, when not the default.
    pub slurm_conf: Option<PathBuf>,
    /// Slurm: the partitions offered as queues. Default: every partition.
    #[serde(default)]
    pub partitions: Vec<String>,
    /// Slurm: the partition used when a request names none. Default: the
    /// cluster's default partition.
    pub default_partition: Option<String>,
    /// Slurm: seconds between two status queries (one `squeue` for every
    /// session and job of the cluster). Default 2.
    pub poll_secs: Option<f64>,
    /// Slurm: CPUs when the profile names none. Default 1.
    pub default_cpus: Option<u32>,
    /// Slurm: the most CPUs one session may ask for.
    pub max_cpus: Option<u32>,
    /// Slurm: memory when the profile names none. Default 2G.
    pub default_memory: Option<ByteSize>,
    /// Slurm: the most memory one session may ask for.
    pub max_memory: Option<ByteSize>,
    /// Slurm: time limit in minutes when the request names none. Default:
    /// the partition's own (its `DefaultTime`, else its `MaxTime`).
    pub default_minutes: Option<u32>,
    /// Slurm: the longest time limit one session may ask for, in minutes.
    pub max_minutes: Option<u32>,
    /// Slurm: the most GPUs one session may ask for (`--gpus`); 0 (the
    /// default) offers none.
    pub max_gpus: Option<u32>,
    /// Slurm: the `atelier` binary as compute nodes see it. Default: the
    /// server's own path (a shared install).
    pub atelier_bin: Option<PathBuf>,
}

impl ClusterConfig {
    /// Names of the Slurm-only keys that are set, for refusing them on
    /// other backends.
    fn slurm_keys_set(&self) -> Vec<&'static str> {
        let set = [
            ("slurm_bin", self.slurm_bin.is_some()),
            ("slurm_conf", self.slurm_conf.is_some()),
            ("partitions", !self.partitions.is_empty()),
            ("default_partition", self.default_partition.is_some()),
            ("poll_secs", self.poll_secs.is_some()),
            ("default_cpus", self.default_cpus.is_some()),
            ("max_cpus", self.max_cpus.is_some()),
            ("default_memory", self.default_memory.is_some()),
            ("max_memory", self.max_memory.is_some()),
            ("default_minutes", self.default_minutes.is_some()),
            ("max_minutes", self.max_minutes.is_some()),
            ("max_gpus", self.max_gpus.is_some()),
            ("atelier_bin", self.atelier_bin.is_some()),
        ];
        set.iter()
            .filter(|(_, on)| *on)
            .map(|(key, _)| *key)
            .collect()
    }

    fn check(&self, origin: &str) -> Result<(), ConfigError> {
        let fail = |message: String| {
            Err(ConfigError::general(
                origin,
                format!("cluster {:?}: {message}", self.name),
            ))
        };
        if self.name == "local" && self.backend != "local" {
            return fail("the name \"local\" is kept for this server's own processes".into());
        }
        match self.backend.as_str() {
            "local" => match self.slurm_keys_set().first() {
                Some(key) => fail(format!("{key} applies to backend \"slurm\" only")),
                None => Ok(()),
            },
            "slurm" => self.check_slurm(origin),
            other => fail(format!(
                "unknown backend {other:?}; use \"local\" or \"slurm\""
            )),
        }
    }

    fn check_slurm(&self, origin: &str) -> Result<(), ConfigError> {
        let fail = |message: &str| {
            Err(ConfigError::general(
                origin,
                format!("cluster {:?}: {message}", self.name),
            ))
        };
        if self.poll_secs.is_some_and(|s| !(0.2..=600.0).contains(&s)) {
            return fail("poll_secs must be between 0.2 and 600");
        }
        let paths = [&self.slurm_bin, &self.slurm_conf, &self.atelier_bin];
        if paths
            .iter()
            .any(|p| p.as_ref().is_some_and(|p| !p.is_absolute()))
        {
            return fail("slurm_bin, slurm_conf and atelier_bin must be absolute paths");
        }
        let names = self.partitions.iter().chain(&self.default_partition);
        if names.clone().any(|p| !is_slurm_name(p)) {
            return fail("partition names are letters, digits, '-', '_' and '.'");
        }
        if let Some(default) = &self.default_partition {
            if !self.partitions.is_empty() && !self.partitions.contains(default) {
                return fail("default_partition must be one of partitions");
            }
        }
        let pairs = [
            (
                self.default_cpus.map(u64::from),
                self.max_cpus.map(u64::from),
                "cpus",
            ),
            (
                self.default_memory.map(|m| m.0),
                self.max_memory.map(|m| m.0),
                "memory",
            ),
            (
                self.default_minutes.map(u64::from),
                self.max_minutes.map(u64::from),
                "minutes",
            ),
        ];
        for (default, max, what) in pairs {
            if default == Some(0) || max == Some(0) {
                return fail(&format!("default_{what} and max_{what} must be above 0"));
            }
            if let (Some(default), Some(max)) = (default, max) {
                if default > max {
                    return fail(&format!("default_{what} is above max_{what}"));
                }
            }
        }
        Ok(())
    }
}

/// A Slurm partition name as Atelier accepts it (it reaches `sbatch` as one
/// argument, never through a shell, but stays plain anyway).
pub fn is_slurm_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
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
            cluster.check(origin)?;
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
            if profile.time_limit_minutes == Some(0) {
                return Err(ConfigError::general(
                    origin,
                    format!(
                        "profile {:?}: time_limit_minutes must be above 0",
                        profile.name
                    ),
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
