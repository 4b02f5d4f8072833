//! `atelier`: one binary for the server (`serve`), the admin commands
//! (`user add`, `token create`, `config check`), the API client (`session
//! …`) and the per-session supervisor (`session-run`, started by the server
//! as each session's user).

mod admin;
mod choices;
mod client;
mod job_client;
mod serve;
mod settings;
mod tls;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// mimalloc instead of glibc's malloc: the server allocates on one thread
/// and frees on another all the time (store rows decoded on the SQLite
/// thread, serialised and dropped on the async workers; proxied bodies),
/// which glibc serves through contended per-arena locks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "atelier",
    version,
    about = "A multi-user workbench for data science"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the configuration and data live, for commands that read them.
#[derive(Args, Clone)]
pub(crate) struct Local {
    /// Configuration file [default: /etc/atelier/atelier.toml if it exists].
    #[arg(long, env = "ATELIER_CONFIG")]
    config: Option<PathBuf>,
    /// Data folder (overrides `data_dir` in the configuration).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the server.
    Serve {
        #[command(flatten)]
        local: Local,
        /// Address to listen on (overrides `listen`).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Manages the built-in users file.
    #[command(subcommand)]
    User(admin::UserCommand),
    /// Manages API tokens.
    #[command(subcommand)]
    Token(admin::TokenCommand),
    /// Checks the configuration.
    #[command(subcommand)]
    Config(admin::ConfigCommand),
    /// Lists, starts and stops sessions through the REST API.
    #[command(subcommand)]
    Session(client::SessionCommand),
    /// Submits, follows and cancels background jobs through the REST API.
    #[command(subcommand)]
    Job(job_client::JobCommand),
    /// Supervises one session's IDE (started by the server; not for people).
    #[command(name = "session-run", hide = true)]
    SessionRun(SupervisorCli),
    /// Creates a remote session's folder, as its user, from JSON on stdin
    /// (run by the server before it submits to Slurm; not for people).
    #[command(name = "session-prepare", hide = true)]
    SessionPrepare {
        /// The session folder to create.
        #[arg(long)]
        dir: PathBuf,
    },
}

#[derive(Args)]
struct SupervisorCli {
    #[arg(long)]
    dir: PathBuf,
    #[arg(long)]
    grace_ms: u64,
    /// Keep the program's stdout and stderr apart, in files (jobs).
    #[arg(long)]
    split_output: bool,
    /// The IDE's environment and the session secret (remote sessions).
    #[arg(long)]
    env_file: Option<PathBuf>,
    /// Serve the IDE behind the session gate on a TCP port (remote sessions).
    #[arg(long)]
    gate: bool,
    #[arg(required = true, last = true)]
    command: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::SessionRun(args) => return run_supervisor(args),
        Command::SessionPrepare { dir } => return prepare_session(&dir),
        Command::Serve { local, listen } => serve::run(&local, listen),
        Command::User(command) => admin::user(command),
        Command::Token(command) => admin::token(command),
        Command::Config(command) => admin::config(command),
        Command::Session(command) => client::run(command),
        Command::Job(command) => job_client::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("atelier: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn prepare_session(dir: &std::path::Path) -> ExitCode {
    if atelier_os::is_root() {
        eprintln!("atelier session-prepare: refusing to run as root");
        return ExitCode::FAILURE;
    }
    let mut input = Vec::new();
    let parsed = std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut input)
        .map_err(|e| e.to_string())
        .and_then(|_| serde_json::from_slice(&input).map_err(|e| e.to_string()));
    let result = parsed.and_then(|input| atelier_launcher::supervisor::prepare(dir, input));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("atelier session-prepare: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run_supervisor(args: SupervisorCli) -> ExitCode {
    let mut command = args.command.into_iter();
    let program = PathBuf::from(command.next().unwrap_or_default());
    let code = atelier_launcher::supervisor::run(atelier_launcher::supervisor::SupervisorArgs {
        dir: args.dir,
        grace: std::time::Duration::from_millis(args.grace_ms),
        output: if args.split_output {
            atelier_launcher::OutputMode::Split
        } else {
            atelier_launcher::OutputMode::Log
        },
        program,
        args: command.collect(),
        env_file: args.env_file,
        gate: args.gate,
    });
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
