//! Holding a local session to its [`Limits`]: a cgroup when the machine
//! allows it, otherwise an address-space rlimit (memory only: no rlimit
//! limits CPU). Also finds a session's cgroup again and reads its OOM kills.

use atelier_core::Session;
use atelier_os::cgroup::{format_bytes, Cgroups, SessionCgroup, Version};
use atelier_os::spawn::Confine;

use super::handle::{CgroupRecord, Handle};
use crate::supervisor::ExitRecord;
use crate::{LaunchError, Limits};

/// How a session is confined, decided before its supervisor starts.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// What the supervisor's `pre_exec` does.
    pub(crate) confine: Confine,
    /// The session's new cgroup, if any (removed again if the launch fails).
    pub(crate) cgroup: Option<SessionCgroup>,
    /// Its record for the handle.
    pub(crate) record: Option<CgroupRecord>,
    /// The handle's `limits` text, e.g. `cgroup v1: 1 CPU, 200M memory`.
    pub(crate) text: Option<String>,
}

/// Decides how to hold `session` to `limits`: creates its cgroup
/// `atelier/<session id>` when `cgroups` is usable, else plans the rlimit.
pub(crate) fn plan(
    cgroups: &Result<Cgroups, String>,
    session: &Session,
    limits: Option<Limits>,
) -> Result<Plan, LaunchError> {
    let Some(limits) = limits.filter(|l| !l.is_empty()) else {
        return Ok(Plan::default());
    };
    let cgroups = match cgroups {
        Ok(cgroups) => cgroups,
        Err(reason) => return Ok(rlimit_plan(limits, reason)),
    };
    let cgroup = cgroups
        .create(session.id.as_str(), limits)
        .map_err(|source| LaunchError::Os {
            session: session.id.clone(),
            source,
        })?;
    Ok(Plan {
        confine: Confine {
            cgroup_procs: cgroup.procs_files(),
            address_space: None,
        },
        record: Some(CgroupRecord {
            version: cgroup.version().name().to_owned(),
            dirs: cgroup.dirs(),
            memory: limits.memory,
        }),
        text: Some(format!("{}: {}", cgroup.version(), limits.describe())),
        cgroup: Some(cgroup),
    })
}

/// Without cgroups: `RLIMIT_AS` for memory, and a text that says what is not limited.
fn rlimit_plan(limits: Limits, reason: &str) -> Plan {
    let text = match (limits.memory, limits.cpus) {
        (Some(memory), Some(_)) => format!(
            "rlimit: {} address space; CPU not limited (no cgroups: {reason})",
            format_bytes(memory)
        ),
        (Some(memory), None) => format!(
            "rlimit: {} address space (no cgroups: {reason})",
            format_bytes(memory)
        ),
        (None, _) => format!("CPU not limited (no cgroups: {reason})"),
    };
    Plan {
        confine: Confine {
            cgroup_procs: Vec::new(),
            address_space: limits.memory,
        },
        text: Some(text),
        ..Plan::default()
    }
}

/// The session's cgroup: from its handle's record (checked: a cgroup folder
/// named `atelier/<session id>`), else by its id under this server's
/// hierarchies (an older handle, or none).
pub(crate) fn find(
    cgroups: &Result<Cgroups, String>,
    session: &Session,
    handle: Option<&Handle>,
) -> Option<SessionCgroup> {
    let id = session.id.as_str();
    let recorded = handle.and_then(|h| h.cgroup.as_ref()).and_then(|record| {
        let version = Version::parse(&record.version)?;
        SessionCgroup::adopt(version, &record.dirs, id).ok()
    });
    recorded.or_else(|| cgroups.as_ref().ok()?.find(id))
}

/// The memory limit, if the session's cgroup recorded an OOM kill. On a
/// kernel without the `oom_kill` counter, a hit of the limit counts only
/// when the exit record shows a SIGKILL.
pub(crate) fn out_of_memory(
    handle: &Handle,
    cgroup: Option<&SessionCgroup>,
    exit: Option<&ExitRecord>,
) -> Option<u64> {
    let limit = handle.cgroup.as_ref()?.memory?;
    let cgroup = cgroup?;
    if cgroup.oom_kills() == 0 {
        return None;
    }
    let killed = exit.is_some_and(|e| e.signal == Some(libc::SIGKILL));
    (cgroup.oom_count_is_exact() || killed).then_some(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        use atelier_core::{SessionId, SessionKind, SessionState, Timestamp, UserName};
        Session {
            id: SessionId::generate(),
            user: UserName::parse("alice").unwrap(),
            kind: SessionKind::parse("jupyterlab").unwrap(),
            name: "t".to_owned(),
            state: SessionState::Pending,
            node: None,
            cluster: "local".to_owned(),
            python: None,
            r: None,
            profile: None,
            created_at: Timestamp::now(),
            started_at: None,
            last_active_at: None,
            ended_at: None,
            error: None,
            exit_code: None,
            secret: "s".to_owned(),
            handle: None,
        }
    }

    #[test]
    fn without_cgroups_memory_becomes_an_rlimit_and_cpu_is_said_unlimited() {
        let none = Err("the server does not run as root".to_owned());
        let both = Limits {
            cpus: Some(1.0),
            memory: Some(200 << 20),
        };
        let plan = plan(&none, &session(), Some(both)).unwrap();
        assert_eq!(plan.confine.address_space, Some(200 << 20));
        assert!(plan.confine.cgroup_procs.is_empty() && plan.cgroup.is_none());
        assert_eq!(
            plan.text.as_deref(),
            Some(
                "rlimit: 200M address space; CPU not limited \
                 (no cgroups: the server does not run as root)"
            )
        );
        let cpu_only = Limits {
            cpus: Some(0.5),
            memory: None,
        };
        let plan = super::plan(&none, &session(), Some(cpu_only)).unwrap();
        assert_eq!(plan.confine.address_space, None);
        assert!(plan
            .text
            .unwrap()
            .starts_with("CPU not limited (no cgroups:"));
    }

    #[test]
    fn no_limits_means_no_plan() {
        let none = Err("x".to_owned());
        for limits in [None, Some(Limits::default())] {
            let plan = plan(&none, &session(), limits).unwrap();
            assert_eq!(plan.text, None);
            assert_eq!(plan.confine, Confine::default());
        }
    }
}
