//! The catalog of session kinds this server offers: which exist, which can
//! run here (and why not), and the command line that starts each (built in
//! `ides`).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use atelier_config::{Config, CustomKind, IdePath};
use atelier_core::{InvalidInput, Session, SessionKind};
use serde::Serialize;

use crate::ides::{self, IdeCommand, DEFAULT_CODE_SERVER, DEFAULT_JUPYTER, DEFAULT_RSERVER};

/// One kind as `GET /api/v1/kinds` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KindInfo {
    /// Kind name, e.g. `jupyterlab`.
    pub name: SessionKind,
    /// Human label, e.g. `JupyterLab`.
    pub label: String,
    /// Whether sessions of this kind can start here.
    pub available: bool,
    /// Why not, when unavailable.
    pub reason: Option<String>,
}

/// How a kind is started.
#[derive(Debug, Clone)]
enum Launch {
    /// `jupyter lab` or `jupyter notebook`.
    Jupyter { jupyter: PathBuf, app: &'static str },
    /// code-server.
    VsCode { code_server: PathBuf },
    /// RStudio Server's `rserver`.
    RStudio { rserver: PathBuf },
    /// A custom kind from the configuration.
    Custom(CustomKind),
    /// Cannot start here.
    Unavailable,
}

/// One kind: what the API shows, how it starts, and how the proxy reaches it.
#[derive(Debug, Clone)]
struct Entry {
    info: KindInfo,
    launch: Launch,
    /// Whether the proxy removes `/s/{id}` before forwarding. Kept for an
    /// unavailable kind too: its sessions from before (re-adopted after a
    /// restart) must still be routed the way they were started.
    strip_prefix: bool,
}

/// What the proxy needs to reach a running session.
#[derive(Debug, Clone)]
pub struct Route {
    /// The session, as last recorded.
    pub session: Session,
    /// Whether `/s/{id}` is stripped before forwarding.
    pub strip_prefix: bool,
}

/// All kinds this server knows, built once from the configuration.
#[derive(Debug, Clone)]
pub struct Catalog {
    kinds: Vec<Entry>,
}

impl Catalog {
    /// Builds the catalog, checking which IDEs are installed.
    pub fn from_config(config: &Config) -> Catalog {
        let ide = &config.ide;
        let jupyter = ide_path(ide.jupyter.as_ref(), DEFAULT_JUPYTER);
        let mut kinds = vec![
            jupyter_kind(SessionKind::JUPYTERLAB, "JupyterLab", &jupyter, "lab"),
            jupyter_kind(
                SessionKind::NOTEBOOK,
                "Jupyter Notebook",
                &jupyter,
                "notebook",
            ),
            vscode_kind(&ide_path(ide.vscode.as_ref(), DEFAULT_CODE_SERVER)),
            rstudio_kind(&ide_path(ide.rstudio.as_ref(), DEFAULT_RSERVER)),
        ];
        for custom in &config.kind {
            let info = KindInfo {
                name: custom.name.clone(),
                label: custom
                    .label
                    .clone()
                    .unwrap_or_else(|| custom.name.to_string()),
                available: true,
                reason: None,
            };
            kinds.push(Entry {
                info,
                launch: Launch::Custom(custom.clone()),
                strip_prefix: custom.strip_prefix == Some(true),
            });
        }
        Catalog { kinds }
    }

    /// Every kind, available or not, in display order.
    pub fn kinds(&self) -> impl Iterator<Item = &KindInfo> {
        self.kinds.iter().map(|entry| &entry.info)
    }

    /// The kind's entry, if it exists.
    pub fn get(&self, kind: &SessionKind) -> Option<&KindInfo> {
        self.find(kind).map(|entry| &entry.info)
    }

    /// Whether the proxy strips `/s/{id}` for this kind.
    pub fn strips_prefix(&self, kind: &SessionKind) -> bool {
        self.find(kind).is_some_and(|entry| entry.strip_prefix)
    }

    /// The command that starts `session`, with the IDE's default R. Errors
    /// when the kind is unknown or unavailable.
    pub fn command(&self, session: &Session) -> Result<IdeCommand, InvalidInput> {
        self.command_with_r(session, None)
    }

    /// The command that starts `session`; `r` is the R interpreter RStudio
    /// sessions use (other kinds ignore it), `None` for the one on `PATH`.
    /// Errors when the kind is unknown or unavailable.
    pub fn command_with_r(
        &self,
        session: &Session,
        r: Option<&Path>,
    ) -> Result<IdeCommand, InvalidInput> {
        match self.find(&session.kind).map(|entry| &entry.launch) {
            Some(Launch::Jupyter { jupyter, app }) => {
                Ok(ides::jupyter_command(jupyter, app, session))
            }
            Some(Launch::VsCode { code_server }) => Ok(ides::vscode_command(code_server)),
            Some(Launch::RStudio { rserver }) => Ok(ides::rstudio_command(rserver, session, r)),
            Some(Launch::Custom(custom)) => Ok(ides::custom_command(custom, session)),
            Some(Launch::Unavailable) | None => Err(InvalidInput::new(
                "kind",
                format!("{} cannot start here", session.kind),
            )),
        }
    }

    fn find(&self, kind: &SessionKind) -> Option<&Entry> {
        self.kinds.iter().find(|entry| &entry.info.name == kind)
    }
}

/// The configured path of an IDE, or its default.
fn ide_path(configured: Option<&IdePath>, default: &str) -> PathBuf {
    configured.map_or_else(|| PathBuf::from(default), |ide| ide.path.clone())
}

/// Whether `path` is a file someone may execute (the session's account is
/// checked when it starts).
fn executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// A built-in kind: available with `launch` when `installed`, otherwise
/// listed with `reason`.
fn builtin(
    name: &str,
    label: &str,
    installed: bool,
    launch: Launch,
    reason: impl FnOnce() -> String,
    strip_prefix: bool,
) -> Entry {
    let info = KindInfo {
        name: SessionKind::parse(name).expect("built-in kind names are valid"),
        label: label.to_owned(),
        available: installed,
        reason: (!installed).then(reason),
    };
    let launch = if installed {
        launch
    } else {
        Launch::Unavailable
    };
    Entry {
        info,
        launch,
        strip_prefix,
    }
}

fn jupyter_kind(name: &str, label: &str, jupyter: &Path, app: &'static str) -> Entry {
    let launch = Launch::Jupyter {
        jupyter: jupyter.to_owned(),
        app,
    };
    let reason = || {
        format!(
            "Jupyter is not installed at {}; run scripts/install-ides.sh",
            jupyter.display()
        )
    };
    builtin(name, label, executable(jupyter), launch, reason, false)
}

fn vscode_kind(code_server: &Path) -> Entry {
    let launch = Launch::VsCode {
        code_server: code_server.to_owned(),
    };
    let reason = || {
        format!(
            "code-server is not installed at {}; run scripts/install-ides.sh",
            code_server.display()
        )
    };
    // code-server has no base-path option: it is served from the root.
    let installed = executable(code_server);
    builtin(
        SessionKind::VSCODE,
        "VS Code",
        installed,
        launch,
        reason,
        true,
    )
}

fn rstudio_kind(rserver: &Path) -> Entry {
    let launch = Launch::RStudio {
        rserver: rserver.to_owned(),
    };
    let reason = || {
        format!(
            "RStudio Server is not installed at {}; it cannot be installed from Debian, PyPI or npm",
            rserver.display()
        )
    };
    // rserver's --www-root-path names the prefix a proxy removed.
    let installed = executable(rserver);
    builtin(
        SessionKind::RSTUDIO,
        "RStudio",
        installed,
        launch,
        reason,
        true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ides::tests::session;
    use std::fs;

    /// A file with `mode` in a fresh temporary folder, removed on drop.
    struct FakeProgram(PathBuf);

    impl FakeProgram {
        fn new(name: &str, mode: u32) -> FakeProgram {
            let dir = std::env::temp_dir().join(format!(
                "atelier-catalog-{}-{name}-{mode:o}",
                std::process::id()
            ));
            fs::create_dir_all(&dir).unwrap();
            let path = dir.join(name);
            fs::write(&path, "#!/bin/sh\n").unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            FakeProgram(path)
        }
    }

    impl Drop for FakeProgram {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(self.0.parent().unwrap());
        }
    }

    fn config(text: &str) -> Config {
        Config::parse("test.toml", text).unwrap()
    }

    fn kind(name: &str) -> SessionKind {
        SessionKind::parse(name).unwrap()
    }

    fn ide_config(vscode: &Path, rstudio: &Path) -> Config {
        config(&format!(
            "[ide.vscode]\npath = {:?}\n[ide.rstudio]\npath = {:?}\n",
            vscode.to_str().unwrap(),
            rstudio.to_str().unwrap()
        ))
    }

    #[test]
    fn vscode_and_rstudio_are_available_when_their_programs_are_executable() {
        let code_server = FakeProgram::new("code-server", 0o755);
        let rserver = FakeProgram::new("rserver", 0o755);
        let catalog = Catalog::from_config(&ide_config(&code_server.0, &rserver.0));
        for name in ["vscode", "rstudio"] {
            let info = catalog.get(&kind(name)).unwrap();
            assert!(info.available, "{info:?}");
            assert_eq!(info.reason, None);
        }
        let vscode = catalog.command(&session("vscode")).unwrap();
        assert_eq!(vscode.program, code_server.0);
        assert_eq!(vscode.ready_path, "/healthz");
        let rstudio = catalog
            .command_with_r(&session("rstudio"), Some(Path::new("/usr/bin/R")))
            .unwrap();
        assert_eq!(rstudio.program, rserver.0);
        assert!(rstudio
            .env
            .contains(&("RSTUDIO_WHICH_R".to_owned(), "/usr/bin/R".to_owned())));
    }

    #[test]
    fn vscode_and_rstudio_are_unavailable_without_an_executable() {
        let not_executable = FakeProgram::new("code-server", 0o644);
        let missing = not_executable.0.with_file_name("rserver");
        let catalog = Catalog::from_config(&ide_config(&not_executable.0, &missing));
        let vscode = catalog.get(&kind("vscode")).unwrap();
        assert!(!vscode.available);
        assert_eq!(
            vscode.reason.as_deref(),
            Some(
                format!(
                    "code-server is not installed at {}; run scripts/install-ides.sh",
                    not_executable.0.display()
                )
                .as_str()
            )
        );
        let rstudio = catalog.get(&kind("rstudio")).unwrap();
        assert!(!rstudio.available);
        let reason = rstudio.reason.as_deref().unwrap();
        assert!(reason.contains(&missing.display().to_string()), "{reason}");
        assert!(
            reason.contains("cannot be installed from Debian, PyPI or npm"),
            "{reason}"
        );
        for name in ["vscode", "rstudio"] {
            let error = catalog.command(&session(name)).unwrap_err();
            assert!(error.to_string().contains("cannot start here"), "{error}");
        }
    }

    #[test]
    fn vscode_and_rstudio_strip_the_prefix_jupyter_does_not() {
        // Whether installed or not: routing follows the kind.
        let missing = Path::new("/nonexistent/atelier/ide");
        let catalog = Catalog::from_config(&ide_config(missing, missing));
        assert!(catalog.strips_prefix(&kind("vscode")));
        assert!(catalog.strips_prefix(&kind("rstudio")));
        assert!(!catalog.strips_prefix(&kind("jupyterlab")));
        assert!(!catalog.strips_prefix(&kind("notebook")));
        assert!(!catalog.strips_prefix(&kind("unknown")));
        let code_server = ide_path(None, DEFAULT_CODE_SERVER);
        assert_eq!(
            code_server,
            Path::new("/opt/atelier/code-server/bin/code-server")
        );
        let rserver = ide_path(None, DEFAULT_RSERVER);
        assert_eq!(rserver, Path::new("/usr/lib/rstudio-server/bin/rserver"));
    }

    #[test]
    fn custom_kinds_keep_their_prefix_choice_and_ready_path() {
        let catalog = Catalog::from_config(&config(
            r#"
[[kind]]
name = "dash"
command = ["/bin/app", "--socket", "{socket}", "--prefix", "{base_url}"]
ready_path = "/health"

[[kind]]
name = "plain"
command = ["/bin/app", "{socket}"]
strip_prefix = true
"#,
        ));
        assert!(!catalog.strips_prefix(&kind("dash")));
        assert!(catalog.strips_prefix(&kind("plain")));
        let dash = catalog.command(&session("dash")).unwrap();
        assert_eq!(
            dash.args,
            [
                "--socket",
                "{socket}",
                "--prefix",
                "/s/0123456789abcdef0123456789abcdef/"
            ]
        );
        assert_eq!(
            dash.ready_path,
            "/s/0123456789abcdef0123456789abcdef/health"
        );
        assert_eq!(
            dash.env,
            [(
                "ATELIER_SESSION_SECRET".to_owned(),
                "s3cret-value".to_owned()
            )]
        );
        assert_eq!(catalog.command(&session("plain")).unwrap().ready_path, "/");
    }
}
