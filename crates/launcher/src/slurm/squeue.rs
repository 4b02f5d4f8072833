//! Reading `squeue --json`: one query lists every job the cluster knows, and
//! the backend picks out its own by job id (Slurm 22.05 ignores `-j`, `-u`
//! and `-t` with `--json`, and lists recently ended jobs too).
//!
//! Field shapes differ between Slurm releases (`job_state` is a string in
//! 22.05 and a list later; `exit_code` a number or an object), so the parser
//! reads each field leniently and skips jobs it cannot read.

use std::collections::HashMap;

use serde_json::Value;

/// What one status query said about one job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct JobStatus {
    /// Slurm's job id.
    pub job_id: u64,
    /// Slurm's state name, e.g. `PENDING`, `RUNNING`, `COMPLETED`.
    pub state: String,
    /// Slurm's reason code, e.g. `Resources`, `PartitionConfig`, `None`.
    pub reason: String,
    /// The node running the batch step, once running.
    pub batch_host: Option<String>,
    /// The job's exit code, once ended, if Slurm says.
    pub exit_code: Option<i32>,
}

/// Where a job stands, in the backend's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Queued; the text says why, for people.
    Pending(String),
    /// Started (running, or being configured on its node).
    Running,
    /// Ended; the text says how, for people ("cancelled", "node failure").
    Ended {
        /// Whether Slurm counts it a failure (anything but `COMPLETED` and
        /// an ordinary cancel).
        failed: bool,
        /// Slurm's account of the end.
        reason: String,
    },
}

impl JobStatus {
    /// This status in the backend's terms.
    pub(crate) fn phase(&self) -> Phase {
        match self.state.as_str() {
            "PENDING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" | "SUSPENDED"
            | "RESV_DEL_HOLD" => Phase::Pending(pending_reason(&self.reason)),
            "RUNNING" | "CONFIGURING" | "COMPLETING" | "STAGE_OUT" | "SIGNALING" | "RESIZING" => {
                Phase::Running
            }
            "COMPLETED" => Phase::Ended {
                failed: false,
                reason: "the Slurm job completed".to_owned(),
            },
            "CANCELLED" => Phase::Ended {
                failed: false,
                reason: "the Slurm job was cancelled (scancel)".to_owned(),
            },
            "TIMEOUT" | "DEADLINE" => Phase::Ended {
                failed: false,
                reason: "the Slurm job reached its time limit".to_owned(),
            },
            "OUT_OF_MEMORY" => Phase::Ended {
                failed: true,
                reason: "the Slurm job used more than its memory".to_owned(),
            },
            "NODE_FAIL" => Phase::Ended {
                failed: true,
                reason: "the Slurm job's node failed".to_owned(),
            },
            "BOOT_FAIL" | "LAUNCH_FAILED" => Phase::Ended {
                failed: true,
                reason: format!("Slurm could not launch the job ({})", self.reason),
            },
            "PREEMPTED" => Phase::Ended {
                failed: true,
                reason: "the Slurm job was preempted".to_owned(),
            },
            other => Phase::Ended {
                failed: true,
                reason: match self.reason.as_str() {
                    "" | "None" => format!("the Slurm job ended: {other}"),
                    reason => format!("the Slurm job ended: {other} ({reason})"),
                },
            },
        }
    }
}

/// A pending reason code said for people.
pub(crate) fn pending_reason(code: &str) -> String {
    let text = match code {
        "Resources" => "waiting for resources",
        "Priority" => "waiting behind jobs of higher priority",
        "None" | "" => "queued",
        "BeginTime" => "waiting for its start time",
        "Dependency" => "waiting for another job",
        "PartitionConfig" | "PartitionNodeLimit" | "BadConstraints" => {
            "request larger than any node of the partition"
        }
        "PartitionTimeLimit" => "time limit longer than the partition allows",
        "PartitionDown" | "PartitionInactive" => "the partition is down",
        "ReqNodeNotAvail" | "NodeDown" => "the nodes it needs are not available",
        "QOSMaxCpuPerUserLimit" | "QOSMaxJobsPerUserLimit" | "AssocMaxJobsLimit" => {
            "waiting: the user's limit of running jobs or CPUs is reached"
        }
        "JobHeldUser" | "JobHeldAdmin" => "held",
        "launch failed requeued held" => "held after a failed launch",
        other => return format!("waiting ({other})"),
    };
    text.to_owned()
}

/// Whether a pending reason means the job can never start as asked.
pub(crate) fn never_starts(reason_code: &str) -> bool {
    matches!(
        reason_code,
        "PartitionConfig" | "PartitionNodeLimit" | "BadConstraints" | "PartitionTimeLimit"
    )
}

/// Parses `squeue --json` output into statuses by job id. Jobs whose id or
/// state cannot be read are skipped; text that is not the expected JSON is
/// an error (with serde's message).
pub(crate) fn parse(text: &str) -> Result<HashMap<u64, JobStatus>, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let jobs = doc
        .get("jobs")
        .and_then(Value::as_array)
        .ok_or("no \"jobs\" list in squeue's output")?;
    Ok(jobs
        .iter()
        .filter_map(job_status)
        .map(|status| (status.job_id, status))
        .collect())
}

fn job_status(job: &Value) -> Option<JobStatus> {
    let job_id = number(job.get("job_id")?)?;
    let state = match job.get("job_state")? {
        Value::String(state) => state.clone(),
        Value::Array(states) => states.first()?.as_str()?.to_owned(),
        _ => return None,
    };
    let reason = job
        .get("state_reason")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let batch_host = job
        .get("batch_host")
        .and_then(Value::as_str)
        .filter(|h| !h.is_empty())
        .map(str::to_owned);
    let exit_code = job.get("exit_code").and_then(exit_code);
    Some(JobStatus {
        job_id,
        state,
        reason,
        batch_host,
        exit_code,
    })
}

/// A number, or Slurm 23's `{"set": true, "number": N}`.
fn number(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.get("number").and_then(Value::as_u64))
}

/// 22.05's number (`code << 8 | signal` as from `wait`, per sacct), or a
/// later release's `{"return_code": N}` object.
fn exit_code(value: &Value) -> Option<i32> {
    if let Some(raw) = value.as_i64() {
        return i32::try_from(raw >> 8).ok();
    }
    let code = value.get("return_code")?;
    number(code)
        .and_then(|n| i32::try_from(n).ok())
        .or_else(|| code.as_i64().and_then(|n| i32::try_from(n).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(fields: &str) -> String {
        format!(r#"{{"meta": {{}}, "errors": [], "jobs": [{{{fields}}}]}}"#)
    }

    /// What `squeue --json` of Slurm 22.05 printed on this project's test
    /// cluster (testdata/), read as the backend reads it.
    #[test]
    fn recorded_squeue_answers_are_read() {
        let recorded = |name: &str| {
            let path = format!("{}/src/slurm/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
            parse(&std::fs::read_to_string(path).unwrap()).unwrap()
        };
        let running = &recorded("squeue-running.json")[&19];
        assert_eq!(running.phase(), Phase::Running);
        assert_eq!(running.batch_host.as_deref(), Some("vm"));
        let waiting = &recorded("squeue-pending-resources.json")[&25];
        assert_eq!(
            waiting.phase(),
            Phase::Pending("waiting for resources".into())
        );
        assert!(!never_starts(&waiting.reason));
        let too_big = &recorded("squeue-too-big.json")[&20];
        assert!(
            never_starts(&too_big.reason),
            "PartitionConfig never starts"
        );
        let ended = recorded("squeue-ended.json");
        assert!(matches!(
            ended[&22].phase(),
            Phase::Ended { failed: false, .. }
        ));
        let Phase::Ended { reason, .. } = ended[&19].phase() else {
            panic!("a cancelled job has ended");
        };
        assert!(reason.contains("cancelled"), "{reason}");
        let failed = &recorded("squeue-failed.json")[&23];
        assert_eq!(failed.exit_code, Some(3), "768 is exit status 3");
        for name in [
            "squeue-launch-failed.json",
            "squeue-oom.json",
            "squeue-too-big-mem.json",
        ] {
            let jobs = recorded(name);
            let status = jobs.values().next().unwrap();
            assert!(
                matches!(status.phase(), Phase::Ended { failed: true, .. }),
                "{name}: {:?}",
                status.phase()
            );
        }
    }

    #[test]
    fn a_running_job_is_read() {
        let text = job(
            r#""job_id": 7, "job_state": "RUNNING", "state_reason": "None", "batch_host": "node1", "exit_code": 0"#,
        );
        let jobs = parse(&text).unwrap();
        let status = &jobs[&7];
        assert_eq!(status.batch_host.as_deref(), Some("node1"));
        assert_eq!(status.phase(), Phase::Running);
    }

    #[test]
    fn pending_reasons_are_said_for_people() {
        let text = job(r#""job_id": 8, "job_state": "PENDING", "state_reason": "Resources""#);
        let status = &parse(&text).unwrap()[&8];
        assert_eq!(
            status.phase(),
            Phase::Pending("waiting for resources".into())
        );
        assert!(!never_starts(&status.reason));
        let text = job(r#""job_id": 9, "job_state": "PENDING", "state_reason": "PartitionConfig""#);
        let status = &parse(&text).unwrap()[&9];
        assert!(never_starts(&status.reason));
        assert_eq!(
            status.phase(),
            Phase::Pending("request larger than any node of the partition".into())
        );
        assert_eq!(pending_reason("SomethingNew"), "waiting (SomethingNew)");
    }

    #[test]
    fn later_releases_shapes_are_read_too() {
        let text = job(
            r#""job_id": {"set": true, "number": 10}, "job_state": ["CANCELLED"], "exit_code": {"return_code": {"set": true, "number": 0}}"#,
        );
        let status = &parse(&text).unwrap()[&10];
        assert_eq!(status.state, "CANCELLED");
        assert_eq!(status.exit_code, Some(0));
        assert!(matches!(status.phase(), Phase::Ended { failed: false, .. }));
    }

    #[test]
    fn ends_say_how() {
        let text = job(r#""job_id": 11, "job_state": "NODE_FAIL", "exit_code": 768"#);
        let status = &parse(&text).unwrap()[&11];
        assert_eq!(status.exit_code, Some(3));
        assert_eq!(
            status.phase(),
            Phase::Ended {
                failed: true,
                reason: "the Slurm job's node failed".into()
            }
        );
    }

    #[test]
    fn unreadable_jobs_are_skipped_and_bad_text_is_an_error() {
        let text = r#"{"jobs": [{"job_state": "RUNNING"}, {"job_id": 3, "job_state": "RUNNING"}]}"#;
        assert_eq!(parse(text).unwrap().len(), 1);
        assert!(parse("squeue: error: Invalid user").is_err());
        assert!(parse("{}").is_err());
    }
}
