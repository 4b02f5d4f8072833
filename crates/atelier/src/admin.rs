//! Admin commands that work on this machine's files and store directly:
//! `user add`, `token create`, `config check`.

use std::io::{BufRead, IsTerminal};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};
use atelier_auth::{hash_token, new_api_token, UsersFile};
use atelier_config::AuthProvider;
use atelier_core::{Role, Timestamp, User, UserName};
use atelier_launcher::slurm::SlurmBackend;
use atelier_store::{ApiToken, StoreConfig};
use clap::Subcommand;

use crate::settings::Settings;
use crate::Local;

/// `atelier user …`
#[derive(Subcommand)]
pub(crate) enum UserCommand {
    /// Adds a user to the built-in users file, or sets their password and role.
    Add {
        /// User name (also the Linux account sessions run as, when the server runs as root).
        name: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
        /// Read the password from standard input instead of asking.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        local: Local,
    },
}

/// `atelier token …`
#[derive(Subcommand)]
pub(crate) enum TokenCommand {
    /// Creates an API token for a user and prints it (shown once; only its hash is kept).
    Create {
        /// The user the token acts as.
        #[arg(long)]
        user: String,
        /// A label to recognise the token by.
        #[arg(long, default_value = "cli")]
        label: String,
        #[command(flatten)]
        local: Local,
    },
}

/// `atelier config …`
#[derive(Subcommand)]
pub(crate) enum ConfigCommand {
    /// Validates the configuration file and explains every error.
    Check {
        #[command(flatten)]
        local: Local,
    },
}

pub(crate) fn user(command: UserCommand) -> anyhow::Result<()> {
    let UserCommand::Add {
        name,
        admin,
        password_stdin,
        local,
    } = command;
    let settings = Settings::load(&local)?;
    let name = UserName::parse(&name)?;
    let password = if password_stdin {
        read_stdin_password()?
    } else {
        prompt_password()?
    };
    let path = settings.users_file();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut file = UsersFile::load(&path)?;
    let role = if admin { Role::Admin } else { Role::User };
    let replaced = file.set(&name, role, &password)?;
    file.save()?;
    let verb = if replaced { "updated" } else { "added" };
    println!("{verb} {} ({}) in {}", name, role.as_str(), path.display());
    if settings.provider != AuthProvider::UsersFile {
        eprintln!("note: the server authenticates with PAM; set [auth] provider = \"users-file\" to use this file");
    }
    Ok(())
}

pub(crate) fn token(command: TokenCommand) -> anyhow::Result<()> {
    let TokenCommand::Create { user, label, local } = command;
    let settings = Settings::load(&local)?;
    let name = UserName::parse(&user)?;
    let role = known_role(&settings, &name)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let token = runtime.block_on(async {
        std::fs::create_dir_all(&settings.data_dir)?;
        let config = match &settings.config.database_url {
            Some(url) => StoreConfig::Postgres { url: url.clone() },
            None => StoreConfig::Sqlite {
                path: settings.data_dir.join("atelier.db"),
            },
        };
        let store = atelier_store::open(&config).await?;
        if store.get_user(&name).await?.is_none() {
            store
                .upsert_user(&User {
                    name: name.clone(),
                    role,
                })
                .await?;
        }
        let token = new_api_token();
        let record = ApiToken {
            id: hash_token(&token)[..16].to_owned(),
            user: name.clone(),
            hash: hash_token(&token),
            label,
            created_at: Timestamp::now(),
            last_used_at: None,
        };
        store.insert_api_token(&record).await?;
        anyhow::Ok(token)
    })?;
    println!("{token}");
    Ok(())
}

/// The role a new token's user gets: from the users file, or the admins list.
fn known_role(settings: &Settings, name: &UserName) -> anyhow::Result<Role> {
    match settings.provider {
        AuthProvider::UsersFile => match UsersFile::load(settings.users_file())?.get(name) {
            Some(role) => Ok(role),
            None => bail!(
                "{name} is not in the users file {}; add it with `atelier user add`",
                settings.users_file().display()
            ),
        },
        AuthProvider::Pam => {
            if atelier_os::Account::lookup(name.as_str())?.is_none() {
                bail!("{name} has no account on this machine");
            }
            let admin = settings
                .config
                .auth
                .admins
                .iter()
                .any(|admin| admin == name.as_str());
            Ok(if admin { Role::Admin } else { Role::User })
        }
    }
}

pub(crate) fn config(command: ConfigCommand) -> anyhow::Result<()> {
    let ConfigCommand::Check { local } = command;
    let settings = Settings::load(&local)?;
    println!("{}: valid", settings.origin);
    println!("  data folder: {}", settings.data_dir.display());
    println!(
        "  store: {}",
        if settings.config.database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    println!("  authentication: {:?}", settings.provider);
    let catalog = atelier_sessions::Catalog::from_config(&settings.config);
    for kind in catalog.kinds() {
        match &kind.reason {
            None => println!("  kind {}: available", kind.name),
            Some(reason) => println!("  kind {}: unavailable ({reason})", kind.name),
        }
    }
    check_clusters(&settings.config.cluster)
}

/// Asks each Slurm cluster for its partitions, and says what it answered.
fn check_clusters(clusters: &[atelier_config::ClusterConfig]) -> anyhow::Result<()> {
    let slurm: Vec<_> = clusters.iter().filter(|c| c.backend == "slurm").collect();
    if slurm.is_empty() {
        return Ok(());
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    for cluster in slurm {
        let backend = SlurmBackend::new(crate::serve::slurm_settings(cluster));
        match runtime.block_on(backend.partitions()) {
            Ok(queues) => {
                let queues: Vec<String> = queues
                    .iter()
                    .map(|q| {
                        format!(
                            "{} ({} CPUs, {}M, {})",
                            q.name, q.cpus, q.memory_mib, q.time_limit
                        )
                    })
                    .collect();
                println!(
                    "  cluster {} (slurm): answering; queues {}",
                    cluster.name,
                    queues.join(", ")
                );
            }
            Err(error) => println!("  cluster {} (slurm): not answering: {error}", cluster.name),
        }
    }
    Ok(())
}

fn read_stdin_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// Asks for the password twice on the terminal, without echo.
fn prompt_password() -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask for a password; use --password-stdin");
    }
    let echo = |on: bool| {
        let _ = Command::new("stty")
            .arg(if on { "echo" } else { "-echo" })
            .stdin(Stdio::inherit())
            .status();
    };
    let ask = |prompt: &str| -> anyhow::Result<String> {
        eprint!("{prompt}");
        echo(false);
        let answer = read_stdin_password();
        echo(true);
        eprintln!();
        answer
    };
    let first = ask("Password: ")?;
    if ask("Again: ")? != first {
        bail!("the two passwords differ");
    }
    Ok(first)
}
