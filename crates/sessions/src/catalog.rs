//! The catalog of session kinds this server offers: which exist, which can
//! run here (and why not), and the command line that starts each.

use std::path::{Path, PathBuf};

use atelier_config::{Config, CustomKind};
use atelier_core::{InvalidInput, Session, SessionKind};
use serde::Serialize;

/// Default location of the managed Jupyter install (`scripts/install-ides.sh`).
pub(crate) const DEFAULT_JUPYTER: &str = "/opt/atelier/jupyter/bin/jupyter";

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
    /// A custom kind from the configuration.
    Custom(CustomKind),
    /// Cannot start here.
    Unavailable,
}

/// The command that starts one session's IDE, before the backend fills in
/// the socket path (`{socket}` in `args`).
#[derive(Debug, Clone)]
pub struct IdeCommand {
    /// Program to run.
    pub program: PathBuf,
    /// Its arguments; never contains the secret.
    pub args: Vec<String>,
    /// Environment additions (the IDE's token goes here).
    pub env: Vec<(String, String)>,
    /// Path the backend probes until the IDE answers.
    pub ready_path: String,
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
    kinds: Vec<(KindInfo, Launch)>,
}

impl Catalog {
    /// Builds the catalog, checking which IDEs are installed.
    pub fn from_config(config: &Config) -> Catalog {
        let jupyter = config
            .ide
            .jupyter
            .as_ref()
            .map_or_else(|| PathBuf::from(DEFAULT_JUPYTER), |ide| ide.path.clone());
        let mut kinds = vec![
            jupyter_kind(SessionKind::JUPYTERLAB, "JupyterLab", &jupyter, "lab"),
            jupyter_kind(
                SessionKind::NOTEBOOK,
                "Jupyter Notebook",
                &jupyter,
                "notebook",
            ),
            later_kind(SessionKind::VSCODE, "VS Code"),
            later_kind(SessionKind::RSTUDIO, "RStudio"),
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
            kinds.push((info, Launch::Custom(custom.clone())));
        }
        Catalog { kinds }
    }

    /// Every kind, available or not, in display order.
    pub fn kinds(&self) -> impl Iterator<Item = &KindInfo> {
        self.kinds.iter().map(|(info, _)| info)
    }

    /// The kind's entry, if it exists.
    pub fn get(&self, kind: &SessionKind) -> Option<&KindInfo> {
        self.find(kind).map(|(info, _)| info)
    }

    /// Whether the proxy strips `/s/{id}` for this kind.
    pub fn strips_prefix(&self, kind: &SessionKind) -> bool {
        matches!(self.find(kind), Some((_, Launch::Custom(custom))) if custom.strip_prefix == Some(true))
    }

    /// The command that starts `session`. Errors when the kind is unknown
    /// or unavailable.
    pub fn command(&self, session: &Session) -> Result<IdeCommand, InvalidInput> {
        let base_url = session.url();
        match self.find(&session.kind) {
            Some((_, Launch::Jupyter { jupyter, app })) => {
                Ok(jupyter_command(jupyter, app, &base_url, &session.secret))
            }
            Some((_, Launch::Custom(custom))) => {
                Ok(custom_command(custom, &base_url, &session.secret))
            }
            _ => Err(InvalidInput::new(
                "kind",
                format!("{} cannot start here", session.kind),
            )),
        }
    }

    fn find(&self, kind: &SessionKind) -> Option<&(KindInfo, Launch)> {
        self.kinds.iter().find(|(info, _)| &info.name == kind)
    }
}

fn jupyter_kind(name: &str, label: &str, jupyter: &Path, app: &'static str) -> (KindInfo, Launch) {
    let installed = jupyter.is_file();
    let reason = (!installed).then(|| {
        format!(
            "Jupyter is not installed at {}; run scripts/install-ides.sh",
            jupyter.display()
        )
    });
    let info = KindInfo {
        name: SessionKind::parse(name).expect("built-in kind names are valid"),
        label: label.to_owned(),
        available: installed,
        reason,
    };
    let launch = if installed {
        Launch::Jupyter {
            jupyter: jupyter.to_owned(),
            app,
        }
    } else {
        Launch::Unavailable
    };
    (info, launch)
}

fn later_kind(name: &str, label: &str) -> (KindInfo, Launch) {
    let info = KindInfo {
        name: SessionKind::parse(name).expect("built-in kind names are valid"),
        label: label.to_owned(),
        available: false,
        reason: Some(format!(
            "{label} sessions are not supported by this version of Atelier yet"
        )),
    };
    (info, Launch::Unavailable)
}

fn jupyter_command(jupyter: &Path, app: &str, base_url: &str, secret: &str) -> IdeCommand {
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
        args: args.iter().map(|arg| arg.to_string()).collect(),
        // The token reaches Jupyter through its environment, never argv,
        // which every user on the machine can read.
        env: vec![("JUPYTER_TOKEN".into(), secret.to_owned())],
        ready_path: format!("{base_url}api/status"),
    }
}

fn custom_command(custom: &CustomKind, base_url: &str, secret: &str) -> IdeCommand {
    let fill = |arg: &String| arg.replace("{base_url}", base_url);
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
        env: vec![("ATELIER_SESSION_SECRET".into(), secret.to_owned())],
        ready_path,
    }
}
