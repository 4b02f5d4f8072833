//! The Slurm backend: sessions and jobs run as Slurm jobs of their user, on
//! whatever node Slurm picks, and are reached through the session gate.
//!
//! Launch: as the user, `atelier session-prepare` makes the session folder
//! `~/.atelier/sessions/<id>` on the shared home (its `env` file holds the
//! IDE's environment and the secret, mode 0600), then `sbatch` (also as the
//! user, `--export=NONE`) submits a batch script that only `exec`s
//! `atelier session-run --gate` with quoted words. On the node, the
//! supervisor starts the IDE on `ide.sock`, serves it on a TCP port that
//! admits only connections opening with the session's secret, and writes
//! `endpoint.json` (host, port).
//!
//! State: one `squeue --json` per poll interval for the whole cluster (see
//! `status`). The endpoint is trusted only on the host Slurm says runs the
//! job. Stop: `scancel --signal=TERM --batch` (the supervisor stops the IDE
//! within the grace), then `scancel` (kill) if the job is still there.

mod commands;
mod handle;
mod script;
mod squeue;
mod status;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use atelier_core::{Session, SessionId, SessionState, Timestamp};

use crate::local::{files, launch as local_launch, output, probe as local_probe};
use crate::supervisor::{ExitRecord, GateEndpoint, PrepareInput, ENDPOINT_FILE, EXIT_FILE};
use crate::{
    Backend, ClusterInfo, Endpoint, LaunchError, LaunchSpec, OutputChunk, OutputMode, OutputStream,
    Probe, SOCKET_FILE,
};
use commands::Commands;
use handle::Handle;
use squeue::{never_starts, JobStatus, Phase};
use status::Statuses;

pub use commands::Partition;
pub use script::shell_quote;

pub(crate) use crate::supervisor::ENV_FILE;

/// How long one readiness request through the gate may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a stop waits for Slurm to report the job gone after the kill.
const KILL_WAIT: Duration = Duration::from_secs(30);
/// Between two looks at a job that is being stopped.
const STOP_POLL: Duration = Duration::from_millis(500);
/// How long an answer of `sinfo` (partitions and their nodes) is reused.
const PARTITIONS_TTL: Duration = Duration::from_secs(30);

/// A Slurm cluster as the administrator configured it.
#[derive(Clone, Debug)]
pub struct SlurmSettings {
    /// The cluster's name in Atelier.
    pub name: String,
    /// The folder with `sbatch`, `squeue`, `scancel`, `sinfo`.
    pub bin: PathBuf,
    /// `SLURM_CONF` for those commands, if not the default.
    pub conf: Option<PathBuf>,
    /// Partitions offered; empty for all.
    pub partitions: Vec<String>,
    /// Partition when a request names none; `None` for Slurm's default.
    pub default_partition: Option<String>,
    /// Time between two status queries.
    pub poll: Duration,
    /// CPUs when the request has none.
    pub default_cpus: u32,
    /// Most CPUs one session may have.
    pub max_cpus: Option<u32>,
    /// Memory in bytes when the request has none.
    pub default_memory: u64,
    /// Most memory one session may have, in bytes.
    pub max_memory: Option<u64>,
    /// Time limit in minutes when the request has none; `None` leaves it
    /// to the partition (its `DefaultTime`, else its `MaxTime`).
    pub default_minutes: Option<u32>,
    /// Longest time limit, in minutes.
    pub max_minutes: Option<u32>,
    /// Most GPUs one session may have.
    pub max_gpus: u32,
    /// The `atelier` binary as compute nodes see it; `None` for the
    /// launch spec's own.
    pub atelier_bin: Option<PathBuf>,
}

/// Runs sessions as Slurm jobs; see the module documentation.
#[derive(Debug)]
pub struct SlurmBackend {
    settings: SlurmSettings,
    commands: Commands,
    statuses: Statuses,
    /// Gate addresses of running sessions, learnt by probes.
    endpoints: Mutex<HashMap<SessionId, SocketAddr>>,
    /// The last answer of `sinfo` and when it came.
    partitions: tokio::sync::Mutex<Option<(std::time::Instant, Vec<Partition>)>>,
}

impl SlurmBackend {
    /// A backend for the cluster of `settings`. Queries nothing yet.
    pub fn new(settings: SlurmSettings) -> Self {
        Self {
            commands: Commands::new(settings.bin.clone(), settings.conf.clone()),
            statuses: Statuses::new(settings.poll),
            endpoints: Mutex::default(),
            partitions: tokio::sync::Mutex::default(),
            settings,
        }
    }

    /// The cluster's name.
    pub fn cluster(&self) -> &str {
        &self.settings.name
    }

    /// How many Slurm commands this backend has run.
    pub fn commands_run(&self) -> u64 {
        self.commands.count()
    }

    /// The partitions offered, with their largest node, from `sinfo`
    /// (asked at most once per [`PARTITIONS_TTL`]).
    pub async fn partitions(&self) -> Result<Vec<Partition>, String> {
        let mut cached = self.partitions.lock().await;
        if let Some((at, partitions)) = cached.as_ref() {
            if at.elapsed() < PARTITIONS_TTL {
                return Ok(partitions.clone());
            }
        }
        let text = self
            .commands
            .run(
                self.commands.command("sinfo", &commands::sinfo_args()),
                None,
            )
            .await?;
        let offered = &self.settings.partitions;
        let partitions: Vec<Partition> = commands::parse_partitions(&text)
            .into_iter()
            .filter(|p| offered.is_empty() || offered.contains(&p.name))
            .collect();
        *cached = Some((std::time::Instant::now(), partitions.clone()));
        Ok(partitions)
    }

    fn refused(session: &Session, message: String) -> LaunchError {
        LaunchError::Refused {
            session: session.id.clone(),
            message,
        }
    }

    /// The request's resources, checked against the configured maximums
    /// and the partition's largest node.
    async fn resources(
        &self,
        session: &Session,
        spec: &LaunchSpec,
    ) -> Result<script::SbatchRequest, LaunchError> {
        let s = &self.settings;
        let refuse = |message: String| Self::refused(session, message);
        let cpus = spec
            .limits
            .and_then(|l| l.cpus)
            .map_or(s.default_cpus, |c| c.ceil().max(1.0) as u32);
        let memory = spec
            .limits
            .and_then(|l| l.memory)
            .unwrap_or(s.default_memory);
        let minutes = spec.placement.minutes.or(s.default_minutes);
        let gpus = spec.placement.gpus;
        if let Some(max) = s.max_cpus.filter(|max| cpus > *max) {
            return Err(refuse(format!(
                "{cpus} CPUs asked; cluster {} allows at most {max}",
                s.name
            )));
        }
        if let Some(max) = s.max_memory.filter(|max| memory > *max) {
            return Err(refuse(format!(
                "{} memory asked; cluster {} allows at most {}",
                atelier_os::cgroup::format_bytes(memory),
                s.name,
                atelier_os::cgroup::format_bytes(max)
            )));
        }
        if let Some((minutes, max)) = minutes.zip(s.max_minutes).filter(|(m, max)| m > max) {
            return Err(refuse(format!(
                "{minutes} minutes asked; cluster {} allows at most {max}",
                s.name
            )));
        }
        if gpus > s.max_gpus {
            return Err(refuse(format!(
                "{gpus} GPUs asked; cluster {} offers at most {}",
                s.name, s.max_gpus
            )));
        }
        let partition = spec
            .placement
            .queue
            .clone()
            .or_else(|| s.default_partition.clone());
        if let Some(name) = &partition {
            if !s.partitions.is_empty() && !s.partitions.contains(name) {
                return Err(refuse(format!("cluster {} has no queue {name:?}", s.name)));
            }
        }
        let memory_mib = memory.div_ceil(1 << 20);
        let asked = Asked {
            cpus,
            memory_mib,
            minutes,
        };
        self.check_fits(session, partition.as_deref(), &asked)
            .await?;
        let dir = session_dir(&spec.account.home, &session.id);
        let log = match spec.output {
            OutputMode::Log => crate::output::LOG_FILE,
            OutputMode::Split => crate::output::SUPERVISOR_LOG_FILE,
        };
        Ok(script::SbatchRequest {
            job_name: format!("atelier-{}", session.id),
            partition,
            cpus,
            memory_mib,
            minutes,
            gpus,
            workdir: spec.account.home.to_string_lossy().into_owned(),
            output: dir.join(log).to_string_lossy().into_owned(),
        })
    }

    /// Refuses a request larger than every node of its partition: Slurm
    /// would accept it and leave it pending for ever.
    async fn check_fits(
        &self,
        session: &Session,
        partition: Option<&str>,
        asked: &Asked,
    ) -> Result<(), LaunchError> {
        let Asked {
            cpus,
            memory_mib,
            minutes,
        } = *asked;
        let partitions = self
            .partitions()
            .await
            .map_err(|message| LaunchError::Scheduler {
                session: session.id.clone(),
                command: "sinfo",
                message,
            })?;
        let found = match partition {
            Some(name) => partitions.iter().find(|p| p.name == name),
            None => partitions.iter().find(|p| p.default),
        };
        let Some(found) = found else {
            let name = partition.unwrap_or("(default)");
            return Err(Self::refused(
                session,
                format!("cluster {} has no queue {name:?}", self.settings.name),
            ));
        };
        if cpus > found.cpus || memory_mib > found.memory_mib {
            return Err(Self::refused(
                session,
                format!(
                    "request larger than any node of queue {}: asked {cpus} CPUs and {memory_mib}M memory, the largest node has {} CPUs and {}M",
                    found.name, found.cpus, found.memory_mib
                ),
            ));
        }
        let longest = commands::parse_time_limit(&found.time_limit);
        if let Some((minutes, _)) = minutes.zip(longest).filter(|(m, l)| m > l) {
            return Err(Self::refused(
                session,
                format!(
                    "time limit of {minutes} minutes is longer than queue {} allows ({})",
                    found.name, found.time_limit
                ),
            ));
        }
        Ok(())
    }

    /// Runs `atelier session-prepare` as the user: the folder, `env`, files.
    async fn prepare(
        &self,
        session: &Session,
        spec: &LaunchSpec,
        dir: &Path,
    ) -> Result<(), LaunchError> {
        let socket = dir.join(SOCKET_FILE);
        let input = PrepareInput {
            env: local_launch::session_env(session, spec, dir),
            secret: session.secret.clone(),
            files: spec.files.clone(),
        };
        let _ = socket;
        let input = serde_json::to_vec(&input).expect("prepare input serializes");
        let mut command = tokio::process::Command::new(&spec.supervisor);
        command
            .arg("session-prepare")
            .arg("--dir")
            .arg(dir)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        self.as_user(session, spec, &mut command)?;
        let outcome = self.commands_untracked(command, &input).await;
        outcome.map_err(|message| LaunchError::Scheduler {
            session: session.id.clone(),
            command: "session-prepare",
            message,
        })
    }

    async fn commands_untracked(
        &self,
        mut command: tokio::process::Command,
        input: &[u8],
    ) -> Result<(), String> {
        use tokio::io::AsyncWriteExt;
        command.stdin(std::process::Stdio::piped());
        let mut child = command.spawn().map_err(|e| e.to_string())?;
        if let Some(mut pipe) = child.stdin.take() {
            pipe.write_all(input).await.map_err(|e| e.to_string())?;
        }
        let output = child.wait_with_output().await.map_err(|e| e.to_string())?;
        if output.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
        }
    }

    fn as_user(
        &self,
        session: &Session,
        spec: &LaunchSpec,
        command: &mut tokio::process::Command,
    ) -> Result<(), LaunchError> {
        atelier_os::spawn::as_user(command.as_std_mut(), &spec.account).map_err(|source| {
            LaunchError::Os {
                session: session.id.clone(),
                source,
            }
        })
    }

    /// A running job's gate, if its `endpoint.json` names the job's node.
    async fn gate_address(&self, handle: &Handle, status: &JobStatus) -> Option<SocketAddr> {
        let path = handle.dir.join(ENDPOINT_FILE);
        let uid = handle.uid;
        let read = move || {
            let file = files::open_regular(&path).ok()?;
            use std::os::unix::fs::MetadataExt;
            if file.metadata().ok()?.uid() != uid {
                return None;
            }
            files::read_small(&path, 4096).ok()
        };
        let bytes = tokio::task::spawn_blocking(read).await.ok()??;
        let endpoint: GateEndpoint = serde_json::from_slice(&bytes).ok()?;
        let batch_host = status.batch_host.as_deref()?;
        if !same_host(&endpoint.host, batch_host) || endpoint.port < 1024 {
            tracing::warn!(job_id = handle.job_id, host = %endpoint.host, batch_host, "endpoint.json names another host; ignored");
            return None;
        }
        tokio::net::lookup_host((batch_host, endpoint.port))
            .await
            .ok()?
            .next()
    }

    async fn running(&self, session: &Session, handle: &Handle, status: &JobStatus) -> Probe {
        let Some(addr) = self.gate_address(handle, status).await else {
            return Probe::Starting;
        };
        self.endpoints
            .lock()
            .expect("endpoints lock")
            .insert(session.id.clone(), addr);
        let answered = async {
            let Ok(stream) = atelier_proxy::gate::open(addr, &session.secret).await else {
                return false;
            };
            local_probe::http_answers(stream, &handle.ready_path, &session.secret).await
        };
        match tokio::time::timeout(PROBE_TIMEOUT, answered).await {
            Ok(true) => Probe::Ready,
            _ => Probe::Starting,
        }
    }

    /// A job Slurm lists as ended, or no longer lists.
    async fn ended(&self, session: &Session, handle: &Handle, status: Option<&JobStatus>) -> Probe {
        self.endpoints
            .lock()
            .expect("endpoints lock")
            .remove(&session.id);
        let record = read_exit_record(&handle.dir).await;
        match status.map(|s| (s.state.as_str(), s.phase())) {
            Some(("COMPLETED", _)) | None => match record {
                Some(record) => Probe::Exited {
                    code: record.code,
                    signal: record.signal,
                },
                None => match status.and_then(|s| s.exit_code) {
                    Some(code) => Probe::Exited {
                        code: Some(code),
                        signal: None,
                    },
                    None => Probe::Gone,
                },
            },
            Some((_, Phase::Ended { failed, reason })) => Probe::Ended { failed, reason },
            Some(_) => Probe::Gone,
        }
    }

    /// Whether the job's gate has written its address while `snapshot`
    /// still shows the job queued or not at all (it was taken earlier).
    /// Asked only for starting sessions, so that at most one extra query
    /// is made per session start.
    async fn started_unseen(&self, snapshot: &status::Snapshot, handle: &Handle) -> bool {
        let seen_running = snapshot
            .jobs
            .get(&handle.job_id)
            .is_some_and(|status| !matches!(status.phase(), Phase::Pending(_)));
        !seen_running
            && snapshot.error.is_none()
            && tokio::fs::try_exists(handle.dir.join(ENDPOINT_FILE))
                .await
                .unwrap_or(false)
    }

    /// Waits until Slurm no longer runs the job, up to `limit`.
    async fn wait_gone(&self, job_id: u64, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let snapshot = self.statuses.now(&self.commands).await;
            let active = match snapshot.jobs.get(&job_id) {
                Some(status) => !matches!(status.phase(), Phase::Ended { .. }),
                None => snapshot.error.is_some(),
            };
            if !active {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(STOP_POLL).await;
        }
    }

    async fn scancel(&self, session: &Session, args: &[String]) -> Result<(), LaunchError> {
        let command = self.commands.command("scancel", args);
        self.commands
            .run(command, None)
            .await
            .map(drop)
            .map_err(|message| LaunchError::Scheduler {
                session: session.id.clone(),
                command: "scancel",
                message,
            })
    }
}

/// What one session asks of a node.
#[derive(Clone, Copy, Debug)]
struct Asked {
    cpus: u32,
    memory_mib: u64,
    minutes: Option<u32>,
}

/// `~/.atelier/sessions/<id>`: on the shared home, so every node sees it.
fn session_dir(home: &Path, id: &SessionId) -> PathBuf {
    home.join(".atelier").join("sessions").join(id.as_str())
}

/// Host names match if equal, or if one is the other's short name.
fn same_host(a: &str, b: &str) -> bool {
    let short = |h: &str| h.split('.').next().unwrap_or(h).to_ascii_lowercase();
    a.eq_ignore_ascii_case(b) || short(a) == short(b)
}

async fn read_exit_record(dir: &Path) -> Option<ExitRecord> {
    let path = dir.join(EXIT_FILE);
    let bytes = tokio::task::spawn_blocking(move || files::read_small(&path, 4096))
        .await
        .ok()?
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[async_trait]
impl Backend for SlurmBackend {
    fn name(&self) -> &'static str {
        "slurm"
    }

    async fn launch(&self, session: &Session, spec: &LaunchSpec) -> Result<String, LaunchError> {
        let request = self.resources(session, spec).await?;
        let dir = session_dir(&spec.account.home, &session.id);
        let socket = dir.join(SOCKET_FILE);
        let limit = local_launch::SOCKET_PATH_LIMIT;
        if socket.as_os_str().len() >= limit {
            return Err(LaunchError::SocketPathTooLong {
                session: session.id.clone(),
                len: socket.as_os_str().len(),
                path: socket,
                limit,
            });
        }
        self.prepare(session, spec, &dir).await?;
        let supervisor = self
            .settings
            .atelier_bin
            .as_ref()
            .unwrap_or(&spec.supervisor);
        let command = local_launch::substitute(
            &std::iter::once(spec.program.to_string_lossy().into_owned())
                .chain(spec.args.iter().cloned())
                .collect::<Vec<_>>(),
            &socket,
            &dir,
        );
        let batch = script::batch_script(&script::ScriptSpec {
            supervisor,
            dir: &dir,
            grace: spec.grace,
            split_output: spec.output == OutputMode::Split,
            command: &command,
        });
        let mut sbatch = self
            .commands
            .command("sbatch", &script::sbatch_args(&request));
        sbatch
            .env("HOME", &spec.account.home)
            .env("USER", &spec.account.name)
            .current_dir(&spec.account.home);
        self.as_user(session, spec, &mut sbatch)?;
        let submitted_at = Timestamp::now().as_millis();
        let scheduler = |message| LaunchError::Scheduler {
            session: session.id.clone(),
            command: "sbatch",
            message,
        };
        let stdout = self
            .commands
            .run(sbatch, Some(batch.as_bytes()))
            .await
            .map_err(scheduler)?;
        let job_id = script::parse_job_id(&stdout)
            .ok_or_else(|| scheduler(format!("no job id in its answer {:?}", stdout.trim())))?;
        let resources = format!(
            "Slurm: {} CPU{}, {}M memory, {}{}{}",
            request.cpus,
            if request.cpus == 1 { "" } else { "s" },
            request.memory_mib,
            request
                .minutes
                .map_or("the queue's time limit".to_owned(), |m| format!("{m} min")),
            if request.gpus > 0 {
                format!(
                    ", {} GPU{}",
                    request.gpus,
                    if request.gpus == 1 { "" } else { "s" }
                )
            } else {
                String::new()
            },
            request
                .partition
                .as_ref()
                .map_or(String::new(), |p| format!(", queue {p}")),
        );
        tracing::info!(session_id = %session.id, user = %session.user, job_id, cluster = %self.settings.name, "submitted to Slurm");
        let handle = Handle {
            job_id,
            dir,
            uid: spec.account.uid,
            ready_path: spec.ready_path.clone(),
            submitted_at,
            partition: request.partition,
            resources,
            output: spec.output,
        };
        Ok(handle.to_json())
    }

    async fn probe(&self, session: &Session) -> Probe {
        let Ok(handle) = Handle::parse(session) else {
            return Probe::Gone;
        };
        let mut snapshot = self.statuses.fresh(&self.commands).await;
        if session.state == SessionState::Starting && self.started_unseen(&snapshot, &handle).await
        {
            // The gate is up, so Slurm runs the job: ask now rather than
            // wait up to a poll interval to let the user in.
            snapshot = self.statuses.now(&self.commands).await;
        }
        if let Some(error) = &snapshot.error {
            return Probe::Queued {
                reason: format!("Slurm does not answer: {error}"),
                hopeless: false,
            };
        }
        match snapshot.jobs.get(&handle.job_id) {
            Some(status) => match status.phase() {
                Phase::Pending(reason) => Probe::Queued {
                    reason,
                    hopeless: never_starts(&status.reason),
                },
                Phase::Running => self.running(session, &handle, status).await,
                Phase::Ended { .. } => self.ended(session, &handle, Some(status)).await,
            },
            None if snapshot
                .taken_at
                .is_some_and(|t| t.as_millis() < handle.submitted_at + 1000) =>
            {
                Probe::Queued {
                    reason: "submitted to Slurm".to_owned(),
                    hopeless: false,
                }
            }
            None => self.ended(session, &handle, None).await,
        }
    }

    async fn stop(&self, session: &Session, grace: Duration) -> Result<(), LaunchError> {
        let Ok(handle) = Handle::parse(session) else {
            return Ok(());
        };
        self.endpoints
            .lock()
            .expect("endpoints lock")
            .remove(&session.id);
        let id = handle.job_id.to_string();
        let pending = self
            .statuses
            .latest()
            .jobs
            .get(&handle.job_id)
            .is_some_and(|status| matches!(status.phase(), Phase::Pending(_)));
        if !pending {
            // The supervisor stops the IDE within the grace on SIGTERM.
            let term = ["--signal=TERM".to_owned(), "--batch".to_owned(), id.clone()];
            let _ = self.scancel(session, &term).await;
            if self
                .wait_gone(handle.job_id, grace + Duration::from_secs(2))
                .await
            {
                return Ok(());
            }
        }
        self.scancel(session, &[id]).await?;
        if self.wait_gone(handle.job_id, KILL_WAIT).await {
            Ok(())
        } else {
            Err(LaunchError::Scheduler {
                session: session.id.clone(),
                command: "scancel",
                message: format!("Slurm still runs job {} after the kill", handle.job_id),
            })
        }
    }

    fn endpoint(&self, session: &Session) -> Option<Endpoint> {
        let endpoints = self.endpoints.lock().expect("endpoints lock");
        endpoints.get(&session.id).map(|addr| Endpoint::Gate(*addr))
    }

    async fn log_tail(&self, session: &Session, lines: usize) -> Option<String> {
        let handle = Handle::parse(session).ok()?;
        tokio::task::spawn_blocking(move || output::tail(&handle.dir, handle.output, lines))
            .await
            .ok()?
    }

    async fn read_output(
        &self,
        session: &Session,
        stream: OutputStream,
        offset: u64,
        max: usize,
    ) -> Result<OutputChunk, LaunchError> {
        let handle = Handle::parse(session)?;
        if handle.output == OutputMode::Log {
            return Err(LaunchError::NoOutput {
                session: session.id.clone(),
                backend: self.name(),
            });
        }
        let path = handle.dir.join(stream.file_name());
        let id = session.id.clone();
        let read = move || output::read(&id, &path, Some(handle.uid), offset, max);
        tokio::task::spawn_blocking(read)
            .await
            .unwrap_or_else(|join| {
                Err(LaunchError::Io {
                    session: session.id.clone(),
                    action: "cannot read",
                    path: PathBuf::new(),
                    source: std::io::Error::other(join),
                })
            })
    }

    /// Removes the session folder, as its user (it is in their home).
    async fn cleanup(&self, session: &Session) -> Result<(), LaunchError> {
        let Ok(handle) = Handle::parse(session) else {
            return Ok(());
        };
        let Some(account) = atelier_os::Account::lookup_uid(handle.uid).ok().flatten() else {
            return Ok(());
        };
        let mut rm = tokio::process::Command::new("/bin/rm");
        rm.arg("-rf").arg("--").arg(&handle.dir).env_clear();
        atelier_os::spawn::as_user(rm.as_std_mut(), &account).map_err(|source| {
            LaunchError::Os {
                session: session.id.clone(),
                source,
            }
        })?;
        let status = rm.status().await.map_err(|source| LaunchError::Io {
            session: session.id.clone(),
            action: "cannot remove",
            path: handle.dir.clone(),
            source,
        })?;
        if status.success() {
            Ok(())
        } else {
            Err(LaunchError::Io {
                session: session.id.clone(),
                action: "cannot remove",
                path: handle.dir,
                source: std::io::Error::other(status.to_string()),
            })
        }
    }

    fn detail(&self, session: &Session) -> Option<String> {
        let handle = Handle::parse(session).ok()?;
        let snapshot = self.statuses.latest();
        let status = snapshot.jobs.get(&handle.job_id)?;
        Some(match status.phase() {
            Phase::Pending(reason) => format!("Slurm job {}: {reason}", handle.job_id),
            Phase::Running => format!(
                "Slurm job {} on {}",
                handle.job_id,
                status.batch_host.as_deref().unwrap_or("a node")
            ),
            Phase::Ended { reason, .. } => format!("Slurm job {}: {reason}", handle.job_id),
        })
    }

    fn limits(&self, session: &Session) -> Option<String> {
        Handle::parse(session).ok().map(|h| h.resources)
    }

    async fn cluster_info(&self) -> Option<ClusterInfo> {
        let s = &self.settings;
        let (queues, error) = match self.partitions().await {
            Ok(queues) => (queues, None),
            Err(error) => (Vec::new(), Some(error)),
        };
        Some(ClusterInfo {
            name: s.name.clone(),
            backend: self.name().to_owned(),
            queues,
            default_queue: s.default_partition.clone(),
            max_cpus: s.max_cpus,
            max_memory: s.max_memory,
            max_minutes: s.max_minutes,
            max_gpus: s.max_gpus,
            error,
            commands_run: self.commands_run(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_match_by_full_or_short_name() {
        assert!(same_host("node1", "node1.cluster"));
        assert!(same_host("NODE1", "node1"));
        assert!(!same_host("node10", "node1"));
    }

    #[test]
    fn the_session_folder_is_in_the_home() {
        let id = SessionId::generate();
        let dir = session_dir(Path::new("/home/a"), &id);
        assert_eq!(
            dir,
            Path::new("/home/a/.atelier/sessions").join(id.as_str())
        );
    }
}
