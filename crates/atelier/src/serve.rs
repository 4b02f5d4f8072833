//! `atelier serve`: builds every part from the settings and runs the HTTP
//! server until SIGTERM or Ctrl-C. Sessions are separate process trees and
//! keep running when the server stops; the next start re-adopts them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use atelier_auth::{random_secret, CookieSigner, LimitSettings, LoginLimiter, Provider};
use atelier_config::AuthProvider;
use atelier_core::UserName;
use atelier_launcher::slurm::{SlurmBackend, SlurmSettings};
use atelier_launcher::{Backend, Clusters, LocalBackend, LOCAL_CLUSTER};
use atelier_proxy::{Proxy, ProxySettings};
use atelier_sessions::languages::Languages;
use atelier_sessions::{Catalog, LifetimeRules, ManagerSettings, Profiles, RunAs, SessionManager};
use atelier_store::{Store, StoreConfig};
use atelier_web::{Access, AppState, CallerCache, LoginService, WebSettings};
use axum::serve::ListenerExt;
use tracing::{info, warn};

use crate::settings::Settings;
use crate::Local;

/// Default listen address.
const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

pub(crate) fn run(local: &Local, listen: Option<SocketAddr>) -> anyhow::Result<()> {
    init_logging();
    let settings = Settings::load(local)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(serve(settings, listen))
}

async fn serve(settings: Settings, listen: Option<SocketAddr>) -> anyhow::Result<()> {
    let listen = listen
        .or(settings.config.listen.map(|addr| addr.0))
        .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("default address is valid"));
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating the data folder {}", settings.data_dir.display()))?;
    let store = open_store(&settings).await?;
    let sessions = session_manager(&settings, Arc::clone(&store), listen)?;
    sessions.spawn_watcher();
    let login = login_service(&settings, store).await?;
    let web = WebSettings {
        node: settings.node.clone(),
        data_dir: settings.data_dir.clone(),
        tls: settings.config.tls.is_some(),
        admins_can_open_sessions: settings
            .config
            .auth
            .admins_can_open_sessions
            .unwrap_or(false),
    };
    let state = AppState::new(sessions, login, Proxy::new(ProxySettings::default()), web);
    let app = atelier_web::router(state);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    info!(%listen, node = %settings.node, data_dir = %settings.data_dir.display(), config = %settings.origin, "atelier is serving");
    match &settings.config.tls {
        Some(tls) => crate::tls::serve(listener, app, tls).await,
        None => {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            let listener = listener.tap_io(|stream| set_nodelay(stream));
            axum::serve(listener, service)
                .with_graceful_shutdown(shutdown_signal())
                .await?;
            Ok(())
        }
    }
}

/// Turns Nagle's algorithm off on an accepted connection: a proxy's small
/// writes (a WebSocket frame, an answer's last bytes) must leave at once, not
/// wait for the client's delayed acknowledgement.
pub(crate) fn set_nodelay(stream: &tokio::net::TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "could not set TCP_NODELAY on a connection");
    }
}

async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let config = match &settings.config.database_url {
        Some(url) => StoreConfig::Postgres { url: url.clone() },
        None => StoreConfig::Sqlite {
            path: settings.data_dir.join("atelier.db"),
        },
    };
    atelier_store::open(&config)
        .await
        .context("opening the store")
}

fn session_manager(
    settings: &Settings,
    store: Arc<dyn Store>,
    listen: SocketAddr,
) -> anyhow::Result<Arc<SessionManager>> {
    let backend = clusters(settings)?;
    let catalog = Catalog::from_config(&settings.config);
    let run_as = if settings.root {
        RunAs::EachUser {
            min_uid: settings.config.auth.min_uid.unwrap_or(1000),
        }
    } else {
        warn!(account = %settings.account.name, "not running as root: every session runs as this account");
        RunAs::ServerAccount(settings.account.clone())
    };
    let sessions = &settings.config.sessions;
    let manager = ManagerSettings {
        node: settings.node.clone(),
        supervisor: std::env::current_exe().context("locating the atelier binary")?,
        start_timeout: Duration::from_secs(sessions.start_timeout_secs.unwrap_or(120)),
        stop_grace: Duration::from_secs(sessions.stop_grace_secs.unwrap_or(10)),
        max_per_user: sessions.max_per_user.unwrap_or(10),
        run_as,
        lifetime: lifetime_rules(sessions),
        profiles: Profiles::from_config(&settings.config.profile),
        keep_jobs: Duration::from_secs_f64(
            settings.config.jobs.keep_days.unwrap_or(7.0) * 86_400.0,
        ),
        api_url: Some(api_url(listen, settings.config.tls.is_some())),
        languages: discover_languages(&settings.config),
    };
    Ok(SessionManager::new(
        store,
        backend,
        Arc::new(catalog),
        manager,
    ))
}

/// The local backend, and one backend per `[[cluster]]` of the config.
fn clusters(settings: &Settings) -> anyhow::Result<Clusters> {
    let local: Arc<dyn Backend> =
        Arc::new(LocalBackend::new(&settings.data_dir).context("preparing the local launcher")?);
    let mut clusters = Clusters::new(Arc::clone(&local));
    for cluster in &settings.config.cluster {
        let backend: Arc<dyn Backend> = match cluster.backend.as_str() {
            "slurm" => Arc::new(SlurmBackend::new(slurm_settings(cluster))),
            _ if cluster.name == LOCAL_CLUSTER => continue,
            _ => Arc::clone(&local),
        };
        info!(cluster = %cluster.name, backend = %cluster.backend, "cluster configured");
        clusters.add(cluster.name.clone(), backend);
    }
    Ok(clusters)
}

/// A `[[cluster]]` of backend `slurm`, with the defaults of its keys.
pub(crate) fn slurm_settings(cluster: &atelier_config::ClusterConfig) -> SlurmSettings {
    SlurmSettings {
        name: cluster.name.clone(),
        bin: cluster
            .slurm_bin
            .clone()
            .unwrap_or_else(|| "/usr/bin".into()),
        conf: cluster.slurm_conf.clone(),
        partitions: cluster.partitions.clone(),
        default_partition: cluster.default_partition.clone(),
        poll: Duration::from_secs_f64(cluster.poll_secs.unwrap_or(2.0)),
        default_cpus: cluster.default_cpus.unwrap_or(1),
        max_cpus: cluster.max_cpus,
        default_memory: cluster.default_memory.map_or(2 << 30, |m| m.0),
        max_memory: cluster.max_memory.map(|m| m.0),
        default_minutes: cluster.default_minutes,
        max_minutes: cluster.max_minutes,
        max_gpus: cluster.max_gpus.unwrap_or(0),
        atelier_bin: cluster.atelier_bin.clone(),
    }
}

/// The URL sessions on this node use to reach the API: the listen address,
/// with a wildcard address replaced by loopback.
fn api_url(listen: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    let host = match listen.ip() {
        ip if ip.is_unspecified() && ip.is_ipv6() => "[::1]".to_owned(),
        ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("{scheme}://{host}:{}", listen.port())
}

/// Finds the Python and R versions (runs each interpreter once, about a second).
fn discover_languages(config: &atelier_config::Config) -> Languages {
    let languages = Languages::discover(config);
    for interpreter in languages.python().iter().chain(languages.r()) {
        info!(
            language = %interpreter.language,
            name = %interpreter.name,
            version = %interpreter.version,
            available = interpreter.available,
            jupyter = interpreter.jupyter,
            "language version found"
        );
    }
    languages
}

fn lifetime_rules(sessions: &atelier_config::SessionsConfig) -> LifetimeRules {
    let seconds = |value: Option<u64>| value.filter(|s| *s > 0).map(Duration::from_secs);
    LifetimeRules {
        idle_timeout: seconds(sessions.idle_timeout_secs),
        idle_timeout_by_kind: sessions
            .idle_timeout_secs_by_kind
            .iter()
            .map(|(kind, secs)| (kind.clone(), Duration::from_secs(*secs)))
            .collect(),
        max_age: seconds(sessions.max_age_secs),
    }
}

async fn login_service(settings: &Settings, store: Arc<dyn Store>) -> anyhow::Result<LoginService> {
    let key = store
        .get_or_insert_setting("cookie_key", &random_secret())
        .await?;
    let auth = &settings.config.auth;
    let provider = match settings.provider {
        AuthProvider::UsersFile => Provider::UsersFile {
            path: settings.users_file(),
        },
        AuthProvider::Pam => Provider::Pam {
            service: auth
                .pam_service
                .clone()
                .unwrap_or_else(|| "atelier".to_owned()),
            admins: parse_names(&auth.admins)?,
        },
    };
    let access = if settings.root {
        Access::Accounts {
            min_uid: auth.min_uid.unwrap_or(1000),
        }
    } else {
        let allowed = auth
            .allowed_users
            .clone()
            .unwrap_or_else(|| vec![settings.account.name.clone()]);
        info!(users = ?allowed, "users allowed to log in");
        Access::Only(parse_names(&allowed)?)
    };
    Ok(LoginService {
        provider,
        access,
        limiter: LoginLimiter::new(LimitSettings::default()),
        signer: CookieSigner::new(key.as_bytes()),
        store,
        login_hours: auth.login_hours.unwrap_or(12),
        secure_cookies: settings.config.tls.is_some(),
        recent: CallerCache::default(),
    })
}

fn parse_names(names: &[String]) -> anyhow::Result<Vec<UserName>> {
    names
        .iter()
        .map(|name| UserName::parse(name).map_err(anyhow::Error::from))
        .collect()
}

pub(crate) async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    info!("shutting down; sessions keep running");
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("ATELIER_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a person at a terminal, never in log files.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    if std::env::var("ATELIER_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
