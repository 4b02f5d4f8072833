//! Reading the configuration file and filling in the defaults that depend on
//! the machine: whether the server runs as root, its home, its host name.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use atelier_config::{AuthProvider, Config, DEFAULT_PATH};
use atelier_os::Account;

use crate::Local;

/// The configuration plus every default resolved.
pub(crate) struct Settings {
    /// The parsed file (or the empty configuration).
    pub(crate) config: Config,
    /// Where the configuration came from, for messages.
    pub(crate) origin: String,
    /// The data folder.
    pub(crate) data_dir: PathBuf,
    /// Whether the server runs as root (and so runs sessions as each user).
    pub(crate) root: bool,
    /// The account the server runs as.
    pub(crate) account: Account,
    /// The authentication provider in force.
    pub(crate) provider: AuthProvider,
    /// This node's name.
    pub(crate) node: String,
}

impl Settings {
    /// Loads the configuration named on the command line, or the default
    /// file when it exists, or no file at all.
    pub(crate) fn load(local: &Local) -> anyhow::Result<Settings> {
        let (config, origin) = read_config(local.config.as_deref())?;
        let account = Account::current().context("looking up the server's own account")?;
        let root = atelier_os::is_root();
        let data_dir = match (&local.data_dir, &config.data_dir) {
            (Some(dir), _) | (None, Some(dir)) => dir.clone(),
            (None, None) if root => PathBuf::from("/var/lib/atelier"),
            (None, None) => account.home.join(".local/share/atelier"),
        };
        if !data_dir.is_absolute() {
            bail!(
                "the data folder must be an absolute path, not {}",
                data_dir.display()
            );
        }
        let provider = config.auth.provider.unwrap_or(if root {
            AuthProvider::Pam
        } else {
            AuthProvider::UsersFile
        });
        if provider == AuthProvider::Pam && !root {
            bail!("{origin}: the pam provider needs the server to run as root; use provider = \"users-file\"");
        }
        let node = config.node_name.clone().unwrap_or_else(host_name);
        Ok(Settings {
            config,
            origin,
            data_dir,
            root,
            account,
            provider,
            node,
        })
    }

    /// The built-in users file.
    pub(crate) fn users_file(&self) -> PathBuf {
        self.config
            .auth
            .users_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("users"))
    }
}

fn read_config(path: Option<&Path>) -> anyhow::Result<(Config, String)> {
    let path = match path {
        Some(path) => path.to_owned(),
        None if Path::new(DEFAULT_PATH).exists() => PathBuf::from(DEFAULT_PATH),
        None => return Ok((Config::default(), "(no configuration file)".to_owned())),
    };
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {origin}"))?;
    let config = Config::parse(&origin, &text)?;
    Ok((config, origin))
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}
