//! Starting, stopping and removing sessions. Each operation records the new
//! state in the store first, then acts, then announces the change.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use atelier_core::{NewSession, Session, SessionId, SessionState, Timestamp, User, UserName};
use atelier_launcher::{Backend, Clusters, LaunchSpec, OutputMode};
use atelier_os::Account;
use atelier_store::{ApiToken, AuditEvent, SessionChange, SessionFilter, Store};
use base64::Engine;
use rand::RngCore;
use tokio::sync::broadcast;
use tracing::{error, info, warn};

use crate::catalog::{Catalog, Route};
use crate::languages::Languages;
use crate::lifetime::LifetimeRules;
use crate::outage::OutageLog;
use crate::placement::Place;
use crate::plan::Plan;
use crate::profiles::{Profile, Profiles};
use crate::remote_routes::RemoteRoutes;
use crate::SessionError;

/// How many times the end of a stop is written before giving up until the
/// next restart (which finishes every `stopping` session it finds).
const STOP_RECORD_ATTEMPTS: u32 = 5;

/// Whose account sessions run as.
#[derive(Debug, Clone)]
pub enum RunAs {
    /// The server is root: each session runs as its user's own account.
    EachUser {
        /// Accounts below this uid may not run sessions.
        min_uid: u32,
    },
    /// The server is not root: every session runs as the server's account.
    ServerAccount(Account),
}

/// Tunables of the session service.
#[derive(Debug, Clone)]
pub struct ManagerSettings {
    /// This node's name, recorded on every session it hosts.
    pub node: String,
    /// Path of the `atelier` binary, run as each session's supervisor.
    pub supervisor: PathBuf,
    /// How long an IDE may take to answer.
    pub start_timeout: Duration,
    /// Time between the stop signal and the kill.
    pub stop_grace: Duration,
    /// Most active sessions per user.
    pub max_per_user: u32,
    /// Whose account sessions run as.
    pub run_as: RunAs,
    /// Idle timeouts and maximum age.
    pub lifetime: LifetimeRules,
    /// Resource profiles.
    pub profiles: Profiles,
    /// How long ended jobs are kept, with their output.
    pub keep_jobs: Duration,
    /// The API's URL as seen from this node's sessions (`ATELIER_SERVER`),
    /// so that `atelier job submit` works inside a session. None: not offered.
    pub api_url: Option<String>,
    /// Python and R versions.
    pub languages: Languages,
}

/// A change that subscribers (the live UI) are told about.
#[derive(Debug, Clone)]
pub enum SessionEvent {
    /// The session was created or changed state; carries the new record.
    Changed(Box<Session>),
    /// The session's record was removed.
    Removed {
        /// The removed session.
        id: SessionId,
        /// Its owner.
        user: UserName,
    },
    /// A job was submitted or changed state; carries the new record.
    JobChanged(Box<atelier_core::Job>),
    /// A job's record was removed.
    JobRemoved {
        /// The removed job.
        id: atelier_core::JobId,
        /// Its owner.
        user: UserName,
    },
}

/// The session service of one node.
pub struct SessionManager {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) backend: Arc<Clusters>,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) settings: ManagerSettings,
    events: broadcast::Sender<SessionEvent>,
    /// Running sessions of this node, for the proxy's fast path.
    routes: RwLock<HashMap<SessionId, Arc<Route>>>,
    /// Running sessions of other nodes, as recently read from the store.
    remote_routes: RemoteRoutes,
    /// Store failures of the session watcher, logged once per outage.
    pub(crate) session_outage: OutageLog,
    /// Store failures of the job watcher, logged once per outage.
    pub(crate) job_outage: OutageLog,
    /// When each queued session last waited in its cluster's queue: its
    /// start timeout counts from then (see `watcher`).
    pub(crate) start_clocks: std::sync::Mutex<HashMap<SessionId, Timestamp>>,
    /// What the backend last said of each active session beyond its state
    /// (e.g. why it waits in a queue), to announce changes of it.
    pub(crate) details: std::sync::Mutex<HashMap<SessionId, String>>,
}

impl SessionManager {
    /// Creates the service. Call [`SessionManager::spawn_watcher`] to start
    /// watching (and re-adopting) this node's sessions.
    pub fn new(
        store: Arc<dyn Store>,
        backend: Clusters,
        catalog: Arc<Catalog>,
        settings: ManagerSettings,
    ) -> Arc<Self> {
        let (events, _) = broadcast::channel(1024);
        Arc::new(Self {
            store,
            backend: Arc::new(backend),
            catalog,
            settings,
            events,
            routes: RwLock::default(),
            remote_routes: RemoteRoutes::default(),
            session_outage: OutageLog::default(),
            job_outage: OutageLog::default(),
            start_clocks: std::sync::Mutex::default(),
            details: std::sync::Mutex::default(),
        })
    }

    /// The kinds catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The resource profiles.
    pub fn profiles(&self) -> &Profiles {
        &self.settings.profiles
    }

    /// The Python and R versions.
    pub fn languages(&self) -> &Languages {
        &self.settings.languages
    }

    /// The store this service records into.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The backends that run this node's sessions, one per cluster.
    pub fn backend(&self) -> &Arc<Clusters> {
        &self.backend
    }

    /// Live session changes on this node.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.events.subscribe()
    }

    /// Starts a session for `user`. The returned record is already stored;
    /// it is `starting` (or `failed`, with the reason, if the launch failed).
    pub async fn start(&self, user: &User, request: NewSession) -> Result<Session, SessionError> {
        self.check_request(&request)?;
        let plan = Plan::resolve(
            &request,
            &user.name,
            &self.settings.profiles,
            &self.settings.languages,
        )?;
        let account = self.account_for(&user.name)?;
        let place = self
            .place(request.cluster.as_deref(), request.queue.as_deref())
            .await?
            .with_profile(plan.profile.as_ref())?;
        self.check_quota(&user.name, plan.profile.as_ref()).await?;
        let session = self.new_record(user, request, &plan, &place);
        self.store.insert_session(&session).await?;
        self.audit(&session, "session.create").await;
        self.announce(SessionEvent::Changed(Box::new(session.clone())));
        Ok(self.launch(session, account, &plan, place).await)
    }

    /// Asks a session to stop. Returns at once with the `stopping` record;
    /// the stop itself runs in the background.
    pub async fn stop(self: &Arc<Self>, id: &SessionId) -> Result<Session, SessionError> {
        let session = self.get(id).await?;
        if !session.state.is_active() && session.state != SessionState::Lost {
            return Err(SessionError::WrongState {
                id: id.clone(),
                state: session.state,
                hint: "it has already ended",
            });
        }
        if session.state == SessionState::Stopping {
            return Ok(session);
        }
        let from = [
            SessionState::Pending,
            SessionState::Starting,
            SessionState::Running,
            SessionState::Lost,
        ];
        let change = SessionChange {
            state: Some(SessionState::Stopping),
            ..Default::default()
        };
        self.begin_stop(id, &from, change).await
    }

    /// Stops a session for a reason of the system's (idle, too old), which
    /// the record keeps and the user sees.
    pub(crate) async fn stop_because(
        self: &Arc<Self>,
        id: &SessionId,
        from: &[SessionState],
        reason: String,
    ) -> Result<Session, SessionError> {
        let change = SessionChange {
            state: Some(SessionState::Stopping),
            error: Some(reason),
            ..Default::default()
        };
        self.begin_stop(id, from, change).await
    }

    async fn begin_stop(
        self: &Arc<Self>,
        id: &SessionId,
        from: &[SessionState],
        change: SessionChange,
    ) -> Result<Session, SessionError> {
        let Some(stopping) = self.transition(id, from, change).await? else {
            return self.get(id).await;
        };
        self.audit(&stopping, "session.stop").await;
        let this = Arc::clone(self);
        let record = stopping.clone();
        tokio::spawn(async move { this.finish_stop(record).await });
        Ok(stopping)
    }

    /// Removes an ended session's record and files.
    pub async fn remove(&self, id: &SessionId) -> Result<(), SessionError> {
        let session = self.get(id).await?;
        let ended = [
            SessionState::Stopped,
            SessionState::Failed,
            SessionState::Lost,
        ];
        if !ended.contains(&session.state) {
            return Err(SessionError::WrongState {
                id: id.clone(),
                state: session.state,
                hint: "stop it first",
            });
        }
        if let Err(error) = self.backend.cleanup(&session).await {
            warn!(session_id = %id, user = %session.user, %error, "could not remove session files");
        }
        if self.store.delete_session(id, &ended).await? {
            self.audit(&session, "session.remove").await;
            self.announce(SessionEvent::Removed {
                id: id.clone(),
                user: session.user.clone(),
            });
        }
        Ok(())
    }

    /// The stored record of a session.
    pub async fn get(&self, id: &SessionId) -> Result<Session, SessionError> {
        self.store
            .get_session(id)
            .await?
            .ok_or_else(|| SessionError::NotFound(id.clone()))
    }

    /// Sessions of `user`, or of everyone when `user` is `None`.
    pub async fn list(&self, user: Option<&UserName>) -> Result<Vec<Session>, SessionError> {
        let filter = SessionFilter {
            user: user.cloned(),
            ..Default::default()
        };
        Ok(self.store.list_sessions(&filter).await?)
    }

    /// Where the proxy sends `caller`'s request for session `id`, if it is
    /// running. Served from memory for this node's sessions; for another
    /// node's, from the store, read again at most once a second (see
    /// `remote_routes`). A starting session of this node owned by `caller`
    /// is asked at once whether its IDE answers, and if it does is recorded
    /// as running there and then: the first request after the IDE is ready
    /// goes through without waiting for the watcher's next look.
    pub async fn route_for_caller(
        &self,
        id: &SessionId,
        caller: &UserName,
    ) -> Result<Option<Arc<Route>>, SessionError> {
        if let Some(route) = self.remembered_route(id) {
            return Ok(Some(route));
        }
        let Some(session) = self.store.get_session(id).await? else {
            return Ok(None);
        };
        let here = session.node.as_deref() == Some(self.settings.node.as_str());
        if session.state == SessionState::Starting && here && &session.user == caller {
            if self.backend.probe(&session).await == atelier_launcher::Probe::Ready {
                // Whoever records it running (this or the watcher) puts it
                // in the route table.
                self.mark_running(&session).await;
            }
            return Ok(self.table_route(id));
        }
        Ok(self.stored_route(session))
    }

    /// The route of a running session of this node, from the route table.
    pub(crate) fn table_route(&self, id: &SessionId) -> Option<Arc<Route>> {
        self.routes.read().expect("routes lock").get(id).cloned()
    }

    /// The route table's, else a recently read route to another node.
    fn remembered_route(&self, id: &SessionId) -> Option<Arc<Route>> {
        self.table_route(id).or_else(|| self.remote_routes.get(id))
    }

    /// The route to `session`, just read from the store, if it is running;
    /// remembered for a while if another node hosts it.
    fn stored_route(&self, session: Session) -> Option<Arc<Route>> {
        if session.state != SessionState::Running {
            return None;
        }
        let id = session.id.clone();
        let elsewhere = session.node.as_deref() != Some(self.settings.node.as_str());
        let route = Arc::new(self.route_for(session));
        if elsewhere {
            self.remote_routes.put(&id, Arc::clone(&route));
        }
        Some(route)
    }

    /// Records proxied activity on a session.
    pub async fn touch(&self, id: &SessionId) -> Result<(), SessionError> {
        Ok(self.store.touch_session(id, Timestamp::now()).await?)
    }

    fn route_for(&self, session: Session) -> Route {
        let strip_prefix = self.catalog.strips_prefix(&session.kind);
        Route {
            session,
            strip_prefix,
        }
    }

    fn check_request(&self, request: &NewSession) -> Result<(), SessionError> {
        let kind = request.kind.as_str();
        let info = self.catalog.get(&request.kind).ok_or_else(|| {
            atelier_core::InvalidInput::new("kind", format!("there is no session kind {kind:?}"))
        })?;
        if !info.available {
            let reason = info.reason.clone().unwrap_or_default();
            return Err(SessionError::KindUnavailable {
                kind: kind.to_owned(),
                reason,
            });
        }
        Ok(())
    }

    pub(crate) fn account_for(&self, user: &UserName) -> Result<Account, SessionError> {
        match &self.settings.run_as {
            RunAs::ServerAccount(account) => Ok(account.clone()),
            RunAs::EachUser { min_uid } => match Account::lookup(user.as_str())? {
                Some(account) if account.uid >= *min_uid => Ok(account),
                _ => Err(SessionError::NoAccount {
                    user: user.to_string(),
                }),
            },
        }
    }

    /// At most `max_per_user` active sessions, and at most the profile's
    /// own cap of sessions with that profile.
    async fn check_quota(
        &self,
        user: &UserName,
        profile: Option<&Profile>,
    ) -> Result<(), SessionError> {
        let filter = SessionFilter {
            user: Some(user.clone()),
            states: Some(SessionState::ACTIVE.to_vec()),
            ..Default::default()
        };
        let active = self.store.list_sessions(&filter).await?;
        let limit = self.settings.max_per_user;
        if active.len() >= limit as usize {
            return Err(SessionError::TooManySessions { limit });
        }
        if let Some((profile, cap)) = profile.and_then(|p| Some((p, p.max_sessions?))) {
            let with_profile = active
                .iter()
                .filter(|s| s.profile.as_deref() == Some(&profile.name))
                .count();
            if with_profile >= cap as usize {
                return Err(SessionError::TooManySessions { limit: cap });
            }
        }
        Ok(())
    }

    fn new_record(&self, user: &User, request: NewSession, plan: &Plan, place: &Place) -> Session {
        Session {
            id: SessionId::generate(),
            user: user.name.clone(),
            kind: request.kind,
            name: plan.name.clone(),
            state: SessionState::Pending,
            node: Some(self.settings.node.clone()),
            cluster: place.cluster.clone(),
            python: plan.python.as_ref().map(|p| p.name.clone()),
            r: plan.r.as_ref().map(|r| r.name.clone()),
            profile: plan.profile.as_ref().map(|p| p.name.clone()),
            created_at: Timestamp::now(),
            started_at: None,
            last_active_at: None,
            ended_at: None,
            error: None,
            exit_code: None,
            secret: new_secret(),
            handle: None,
        }
    }

    /// Hands a pending session to the backend and records the outcome.
    async fn launch(
        &self,
        session: Session,
        account: Account,
        plan: &Plan,
        place: Place,
    ) -> Session {
        let r_path = plan.r.as_ref().map(|r| r.path.as_path());
        let mut command = match self.catalog.command_with_r(&session, r_path) {
            Ok(command) => command,
            Err(error) => return self.fail_pending(session, error.to_string()).await,
        };
        let mut files = std::mem::take(&mut command.files);
        files.extend(plan.apply(&session.kind, &mut command));
        command.env.extend(self.session_api_access(&session).await);
        let spec = LaunchSpec {
            account,
            program: command.program,
            args: command.args,
            env: command.env,
            ready_path: command.ready_path,
            supervisor: self.settings.supervisor.clone(),
            grace: self.settings.stop_grace,
            limits: plan.limits(),
            files,
            output: OutputMode::Log,
            placement: place.placement,
        };
        match self.backend.launch(&session, &spec).await {
            Ok(handle) => {
                info!(session_id = %session.id, user = %session.user, kind = %session.kind, cluster = %session.cluster, "session launched");
                let change = SessionChange {
                    state: Some(SessionState::Starting),
                    handle: Some(handle),
                    ..Default::default()
                };
                match self
                    .transition(&session.id, &[SessionState::Pending], change)
                    .await
                {
                    Ok(Some(starting)) => starting,
                    _ => session,
                }
            }
            Err(error) => {
                self.fail_pending(session, format!("could not start: {error}"))
                    .await
            }
        }
    }

    async fn fail_pending(&self, session: Session, reason: String) -> Session {
        warn!(session_id = %session.id, user = %session.user, reason, "session failed to launch");
        let change = SessionChange {
            state: Some(SessionState::Failed),
            error: Some(reason),
            ended_at: Some(Timestamp::now()),
            ..Default::default()
        };
        match self
            .transition(&session.id, &[SessionState::Pending], change)
            .await
        {
            Ok(Some(failed)) => failed,
            _ => session,
        }
    }

    /// Stops the processes of a `stopping` session and records the end.
    pub(crate) async fn finish_stop(&self, session: Session) {
        self.forget_route(&session.id);
        let result = self.backend.stop(&session, self.settings.stop_grace).await;
        let change = match result {
            Ok(()) => SessionChange {
                state: Some(SessionState::Stopped),
                ended_at: Some(Timestamp::now()),
                ..Default::default()
            },
            Err(error) => {
                warn!(session_id = %session.id, user = %session.user, %error, "stop left processes behind");
                SessionChange {
                    state: Some(SessionState::Failed),
                    error: Some(format!("stop failed: {error}")),
                    ended_at: Some(Timestamp::now()),
                    ..Default::default()
                }
            }
        };
        // The processes are gone whatever the store says; a store that
        // fails for a moment must not leave the record `stopping` until
        // the next restart, so the end is written again a few times.
        let mut pause = Duration::from_millis(500);
        for attempt in 1..=STOP_RECORD_ATTEMPTS {
            let written = self
                .transition(&session.id, &[SessionState::Stopping], change.clone())
                .await;
            match written {
                Ok(_) => return,
                Err(error) if attempt < STOP_RECORD_ATTEMPTS => {
                    warn!(session_id = %session.id, %error, attempt, "could not record the end of a stop; trying again");
                }
                Err(error) => {
                    error!(session_id = %session.id, %error, "could not record the end of a stop; the next restart will");
                }
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
    }

    /// Applies a change if the session is in one of `from`, keeps the route
    /// table in step and announces the new record.
    pub(crate) async fn transition(
        &self,
        id: &SessionId,
        from: &[SessionState],
        change: SessionChange,
    ) -> Result<Option<Session>, SessionError> {
        let Some(updated) = self.store.update_session(id, from, &change).await? else {
            return Ok(None);
        };
        info!(session_id = %id, user = %updated.user, state = %updated.state, "session state changed");
        if updated.state.is_terminal() || updated.state == SessionState::Lost {
            self.revoke_session_token(id).await;
            self.forget(&updated);
        }
        if updated.state == SessionState::Running {
            let route = Arc::new(self.route_for(updated.clone()));
            self.routes
                .write()
                .expect("routes lock")
                .insert(id.clone(), route);
        } else {
            self.forget_route(id);
        }
        self.announce(SessionEvent::Changed(Box::new(updated.clone())));
        Ok(Some(updated))
    }

    /// `ATELIER_SERVER` and a fresh `ATELIER_TOKEN` for the session's user,
    /// revoked when the session ends (see [`Self::revoke_session_token`]).
    async fn session_api_access(&self, session: &Session) -> Vec<(String, String)> {
        let Some(url) = &self.settings.api_url else {
            return Vec::new();
        };
        let token = atelier_auth::new_api_token();
        let record = ApiToken {
            id: session_token_id(&session.id),
            user: session.user.clone(),
            hash: atelier_auth::hash_token(&token),
            label: format!("session {}", session.id),
            created_at: Timestamp::now(),
            last_used_at: None,
        };
        if let Err(error) = self.store.insert_api_token(&record).await {
            warn!(session_id = %session.id, %error, "could not create the session's API token");
            return Vec::new();
        }
        vec![
            ("ATELIER_SERVER".into(), url.clone()),
            ("ATELIER_TOKEN".into(), token),
        ]
    }

    async fn revoke_session_token(&self, id: &SessionId) {
        if let Err(error) = self.store.delete_api_token(&session_token_id(id)).await {
            warn!(session_id = %id, %error, "could not revoke the session's API token");
        }
    }

    fn forget_route(&self, id: &SessionId) {
        self.routes.write().expect("routes lock").remove(id);
        self.remote_routes.forget(id);
    }

    pub(crate) fn announce(&self, event: SessionEvent) {
        // No subscriber is fine: nobody is watching.
        let _ = self.events.send(event);
    }

    async fn audit(&self, session: &Session, action: &str) {
        let event = AuditEvent {
            at: Timestamp::now(),
            user: Some(session.user.clone()),
            action: action.to_owned(),
            target: Some(session.id.to_string()),
            detail: Some(session.kind.to_string()),
        };
        if let Err(error) = self.store.append_audit(&event).await {
            warn!(session_id = %session.id, %error, "could not write audit event");
        }
    }
}

fn session_token_id(id: &SessionId) -> String {
    format!("session-{id}")
}

fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
