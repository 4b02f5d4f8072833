//! The command lines that start each IDE: program, arguments, environment,
//! files and the path probed until it answers.
//!
//! Placeholders the launcher fills in: `{socket}` (the unix socket the IDE
//! must listen on) in arguments, `{dir}` (the session folder, owned by the
//! user, mode 0700) in arguments and environment values. Arguments are
//! world-readable (`/proc/<pid>/cmdline`), so no secret ever goes there.

use std::path::{Path, PathBuf};

use atelier_config::CustomKind;
use atelier_core::Session;

/// Default location of the managed Jupyter install (`scripts/install-ides.sh`).
pub(crate) const DEFAULT_JUPYTER: &str = "/opt/atelier/jupyter/bin/jupyter";
/// Default location of code-server (`scripts/install-code-server.sh`).
pub(crate) const DEFAULT_CODE_SERVER: &str = "/opt/atelier/code-server/bin/code-server";
/// Default location of RStudio Server's `rserver` (Posit's .deb puts it there).
pub(crate) const DEFAULT_RSERVER: &str = "/usr/lib/rstudio-server/bin/rserver";

/// The RStudio database configuration, relative to the session folder.
const RSTUDIO_DATABASE_CONF: &str = "rstudio-database.conf";

/// The command that starts one session's IDE, before the backend fills in
/// `{socket}` and `{dir}`.
#[derive(Debug, Clone)]
pub struct IdeCommand {
    /// Program to run.
    pub program: PathBuf,
    /// Its arguments; never contains the secret.
    pub args: Vec<String>,
    /// Environment additions (the IDE's token goes here).
    pub env: Vec<(String, String)>,
    /// Files to write into the session folder before the IDE starts (paths
    /// relative to it). `{dir}` in their contents stands for the folder.
    pub files: Vec<(PathBuf, String)>,
    /// Path the backend probes until the IDE answers.
    pub ready_path: String,
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| arg.to_string()).collect()
}

/// `jupyter lab` or `jupyter notebook` under the session's base URL.
pub(crate) fn jupyter_command(jupyter: &Path, app: &str, session: &Session) -> IdeCommand {
    let base_url = session.url();
    let args = [
        app,
        "--no-browser",
        "--ServerApp.sock={socket}",
        "--ServerApp.sock_mode=0600",
        &format!("--ServerApp.base_url={base_url}"),
        "--ServerApp.quit_button=False",
    ];
    IdeCommand {
        program: jupyter.to_owned(),
        args: strings(&args),
        // The token reaches Jupyter through its environment, never argv,
        // which every user on the machine can read.
        env: vec![("JUPYTER_TOKEN".into(), session.secret.clone())],
        files: Vec::new(),
        ready_path: format!("{base_url}api/status"),
    }
}

/// code-server (VS Code in the browser). It has no base-path option and
/// uses relative URLs, so the proxy strips `/s/<id>` (see
/// `Catalog::strips_prefix`) and every path here is from the root.
pub(crate) fn vscode_command(code_server: &Path) -> IdeCommand {
    let args = [
        // Listen on the session's socket only (no TCP), mode 0600.
        "--socket",
        "{socket}",
        "--socket-mode",
        "600",
        // Atelier's proxy authenticates; nothing but the user (and the
        // server) can open the socket.
        "--auth",
        "none",
        // Not the user's ~/.config/code-server/config.yaml: no password file
        // written into the home, and no setting there can change these flags.
        "--config",
        "/dev/null",
        // Each session its own socket for `code-server <file>` hand-offs
        // (the default, under the user data folder, is shared by all of the
        // user's sessions).
        "--session-socket",
        "{socket}.ipc",
        "--disable-telemetry",
        "--disable-update-check",
        "--disable-workspace-trust",
        // The folder to open: the launcher starts the IDE in the user's home.
        ".",
    ];
    IdeCommand {
        program: code_server.to_owned(),
        args: strings(&args),
        env: Vec::new(),
        files: Vec::new(),
        // Answers 200 without authentication once the server listens.
        ready_path: "/healthz".into(),
    }
}

/// RStudio Server's `rserver`, run as the session's user, single user, on
/// the session's socket. The proxy strips `/s/<id>` and `--www-root-path`
/// tells RStudio the prefix for the URLs it builds.
///
/// Not run here (RStudio Server cannot be installed from Debian, PyPI or
/// npm); built from RStudio's option definitions
/// (`src/cpp/server/server-options.json` in rstudio/rstudio) and the
/// release notes of 2024.10 for `www-socket` (rstudio/rstudio#14938), with
/// jupyterhub/jupyter-rsession-proxy (`setup_rserver`, which runs rserver
/// the same way behind a path-stripping proxy) as a cross-check.
pub(crate) fn rstudio_command(rserver: &Path, session: &Session, r: Option<&Path>) -> IdeCommand {
    let mut args = vec![
        // Stay in the foreground under the supervisor (default: daemonize
        // when started as root).
        "--server-daemonize=0".to_owned(),
        // The account rserver runs as. Ignored when it does not start as
        // root, which is always the case here (ServerOptions.cpp); set so
        // rserver never looks for its `rstudio-server` account.
        format!("--server-user={}", session.user),
        // No login page: Atelier authenticated the request, and only the
        // user (and the server) can open the socket.
        "--auth-none=1".to_owned(),
        // Listen on a unix socket instead of a TCP port (RStudio 2024.10+).
        "--www-socket={socket}".to_owned(),
        // The prefix the proxy removed, for redirects and absolute URLs.
        format!("--www-root-path={}", session.url()),
        // Scripts and the readiness probe are not browsers.
        "--www-verify-user-agent=0".to_owned(),
        // Keep the launcher's umask 077 (default: rserver sets 022).
        "--server-set-umask=0".to_owned(),
        // Run-time state, pid file, cookie key and database in the session
        // folder instead of /var/run/rstudio-server and /var/lib/rstudio-server,
        // which the user cannot write and other sessions would share.
        "--server-data-dir={dir}/rstudio".to_owned(),
        "--server-pid-file={dir}/rstudio.pid".to_owned(),
        "--secure-cookie-key-file={dir}/rstudio-secure-cookie-key".to_owned(),
        format!("--database-config-file={{dir}}/{RSTUDIO_DATABASE_CONF}"),
    ];
    let mut env = Vec::new();
    if let Some(r) = r {
        let r = r.to_string_lossy().into_owned();
        // rserver's option for the R that sessions use; RSTUDIO_WHICH_R is
        // the same choice as RStudio's environment variable.
        args.push(format!("--rsession-which-r={r}"));
        env.push(("RSTUDIO_WHICH_R".to_owned(), r));
    }
    // SQLite under the session folder (ServerDatabase.cpp reads `provider`
    // and `directory`; the default directory is /var/lib/rstudio-server).
    let database = "provider=sqlite\ndirectory={dir}/rstudio-db\n".to_owned();
    IdeCommand {
        program: rserver.to_owned(),
        args,
        env,
        files: vec![(PathBuf::from(RSTUDIO_DATABASE_CONF), database)],
        // With --auth-none, the root answers (the IDE page or a redirect).
        ready_path: "/".into(),
    }
}

/// A custom kind from the configuration.
pub(crate) fn custom_command(custom: &CustomKind, session: &Session) -> IdeCommand {
    let base_url = session.url();
    let fill = |arg: &String| arg.replace("{base_url}", &base_url);
    let ready = custom
        .ready_path
        .as_deref()
        .unwrap_or("/")
        .trim_start_matches('/');
    let ready_path = if custom.strip_prefix == Some(true) {
        format!("/{ready}")
    } else {
        format!("{base_url}{ready}")
    };
    IdeCommand {
        program: PathBuf::from(&custom.command[0]),
        args: custom.command[1..].iter().map(fill).collect(),
        env: vec![("ATELIER_SESSION_SECRET".into(), session.secret.clone())],
        files: Vec::new(),
        ready_path,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use atelier_core::{SessionId, SessionKind, SessionState, Timestamp, UserName};

    /// A pending session of `kind` for alice, with a known secret.
    pub(crate) fn session(kind: &str) -> Session {
        Session {
            id: SessionId::parse("0123456789abcdef0123456789abcdef").unwrap(),
            user: UserName::parse("alice").unwrap(),
            kind: SessionKind::parse(kind).unwrap(),
            name: "s".into(),
            state: SessionState::Pending,
            node: None,
            cluster: "local".into(),
            python: None,
            r: None,
            profile: None,
            created_at: Timestamp::from_millis(0),
            started_at: None,
            last_active_at: None,
            ended_at: None,
            error: None,
            exit_code: None,
            secret: "s3cret-value".into(),
            handle: None,
        }
    }

    fn assert_no_secret(command: &IdeCommand) {
        assert!(
            command.args.iter().all(|arg| !arg.contains("s3cret")),
            "{:?}",
            command.args
        );
    }

    #[test]
    fn vscode_listens_on_the_socket_without_auth_and_opens_the_home() {
        let command = vscode_command(Path::new("/opt/cs/bin/code-server"));
        assert_eq!(command.program, Path::new("/opt/cs/bin/code-server"));
        assert_eq!(
            command.args,
            [
                "--socket",
                "{socket}",
                "--socket-mode",
                "600",
                "--auth",
                "none",
                "--config",
                "/dev/null",
                "--session-socket",
                "{socket}.ipc",
                "--disable-telemetry",
                "--disable-update-check",
                "--disable-workspace-trust",
                ".",
            ]
        );
        assert!(command.env.is_empty() && command.files.is_empty());
        assert_eq!(command.ready_path, "/healthz");
    }

    #[test]
    fn rstudio_runs_single_user_on_the_socket_with_its_state_in_the_session_folder() {
        let session = session("rstudio");
        let command = rstudio_command(Path::new("/usr/lib/rs/bin/rserver"), &session, None);
        assert_eq!(command.program, Path::new("/usr/lib/rs/bin/rserver"));
        assert_eq!(
            command.args,
            [
                "--server-daemonize=0",
                "--server-user=alice",
                "--auth-none=1",
                "--www-socket={socket}",
                "--www-root-path=/s/0123456789abcdef0123456789abcdef/",
                "--www-verify-user-agent=0",
                "--server-set-umask=0",
                "--server-data-dir={dir}/rstudio",
                "--server-pid-file={dir}/rstudio.pid",
                "--secure-cookie-key-file={dir}/rstudio-secure-cookie-key",
                "--database-config-file={dir}/rstudio-database.conf",
            ]
        );
        assert_eq!(command.env, []);
        assert_eq!(
            command.files,
            [(
                PathBuf::from("rstudio-database.conf"),
                "provider=sqlite\ndirectory={dir}/rstudio-db\n".to_owned()
            )]
        );
        assert_eq!(command.ready_path, "/");
        assert_no_secret(&command);
    }

    #[test]
    fn rstudio_uses_the_chosen_r() {
        let session = session("rstudio");
        let r = Path::new("/opt/R/4.4/bin/R");
        let command = rstudio_command(Path::new("/x/rserver"), &session, Some(r));
        assert_eq!(
            command.args.last().map(String::as_str),
            Some("--rsession-which-r=/opt/R/4.4/bin/R")
        );
        assert_eq!(
            command.env,
            [("RSTUDIO_WHICH_R".to_owned(), "/opt/R/4.4/bin/R".to_owned())]
        );
    }

    #[test]
    fn jupyter_gets_its_token_from_the_environment_only() {
        let session = session("jupyterlab");
        let command = jupyter_command(Path::new("/j/bin/jupyter"), "lab", &session);
        assert_eq!(command.args[0], "lab");
        assert!(command
            .args
            .contains(&"--ServerApp.base_url=/s/0123456789abcdef0123456789abcdef/".to_owned()));
        assert_eq!(
            command.env,
            [("JUPYTER_TOKEN".to_owned(), "s3cret-value".to_owned())]
        );
        assert_eq!(
            command.ready_path,
            "/s/0123456789abcdef0123456789abcdef/api/status"
        );
        assert_no_secret(&command);
    }
}
