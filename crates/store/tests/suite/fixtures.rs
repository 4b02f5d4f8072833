//! Sample records for the checks.

use std::sync::Arc;

use std::collections::BTreeMap;

use atelier_core::{
    Job, JobId, JobState, Role, Session, SessionId, SessionKind, SessionState, Timestamp, User,
    UserName,
};
use atelier_store::Store;

/// A user name that parses.
pub(crate) fn name(text: &str) -> UserName {
    UserName::parse(text).expect("valid user name")
}

/// Stores `text` as an ordinary user and returns its name.
pub(crate) async fn user(store: &Arc<dyn Store>, text: &str) -> UserName {
    let user = User {
        name: name(text),
        role: Role::User,
    };
    store.upsert_user(&user).await.expect("upsert user");
    user.name
}

/// A session of `user` in `state`, created at `created` ms, with every
/// optional field empty.
pub(crate) fn session(user: &UserName, state: SessionState, created: i64) -> Session {
    Session {
        id: SessionId::generate(),
        user: user.clone(),
        kind: SessionKind::parse(SessionKind::JUPYTERLAB).expect("valid kind"),
        name: "analysis".to_owned(),
        state,
        node: None,
        cluster: "local".to_owned(),
        python: None,
        r: None,
        profile: None,
        created_at: Timestamp::from_millis(created),
        started_at: None,
        last_active_at: None,
        ended_at: None,
        error: None,
        exit_code: None,
        secret: "s3cret-token".to_owned(),
        handle: None,
    }
}

/// A session with every optional field set to something distinctive.
pub(crate) fn full_session(user: &UserName) -> Session {
    Session {
        kind: SessionKind::parse("vscode").expect("valid kind"),
        name: "Ünïcode name — with 'quotes'".to_owned(),
        node: Some("node-7".to_owned()),
        cluster: "slurm-a".to_owned(),
        python: Some("3.12".to_owned()),
        r: Some("4.2".to_owned()),
        profile: Some("large".to_owned()),
        started_at: Some(Timestamp::from_millis(1_700_000_001_000)),
        last_active_at: Some(Timestamp::from_millis(1_700_000_002_000)),
        ended_at: Some(Timestamp::from_millis(1_700_000_003_000)),
        error: Some("exited with status 3".to_owned()),
        exit_code: Some(-3),
        secret: "9f1c2e-very-secret".to_owned(),
        handle: Some(r#"{"pid":4242,"socket":"/run/atelier/x.sock"}"#.to_owned()),
        ..session(user, SessionState::Failed, 1_700_000_000_123)
    }
}

/// A job of `user` named `name` in `state`, created at `created` ms, with
/// every optional field empty.
pub(crate) fn job(user: &UserName, name: &str, state: JobState, created: i64) -> Job {
    Job {
        id: JobId::generate(),
        user: user.clone(),
        name: name.to_owned(),
        state,
        command: vec!["/usr/bin/true".to_owned()],
        workdir: "/home/alice".to_owned(),
        env: BTreeMap::new(),
        python: None,
        r: None,
        profile: None,
        cluster: "local".to_owned(),
        node: None,
        created_at: Timestamp::from_millis(created),
        started_at: None,
        ended_at: None,
        exit_code: None,
        error: None,
        handle: None,
    }
}

/// A job with every optional field set, and a command and environment full
/// of spaces, quotes, backslashes and non-ASCII text.
pub(crate) fn full_job(user: &UserName) -> Job {
    let command = [
        "/opt/python/3.12/bin/python3",
        "/home/alice/my script.py",
        "--title=\"Ünïcode — 'quoted'\"",
        "back\\slash",
        "",
        "日本語 🎉",
    ];
    let env = [
        ("GREETING", "hello world"),
        ("QUOTES", "it's \"here\""),
        ("EMPTY", ""),
        ("ÜMLAUT", "ß"),
    ];
    Job {
        name: "Nightly — 'report' 100%".to_owned(),
        command: command.map(str::to_owned).to_vec(),
        workdir: "/home/alice/some dir".to_owned(),
        env: env.map(|(k, v)| (k.to_owned(), v.to_owned())).into(),
        python: Some("3.12".to_owned()),
        r: Some("4.2".to_owned()),
        profile: Some("large".to_owned()),
        cluster: "slurm-a".to_owned(),
        node: Some("node-7".to_owned()),
        started_at: Some(Timestamp::from_millis(1_700_000_001_000)),
        ended_at: Some(Timestamp::from_millis(1_700_000_003_000)),
        exit_code: Some(-9),
        error: Some("killed by signal 9".to_owned()),
        handle: Some(r#"{"pid":4242,"dir":"/var/lib/atelier/jobs/x"}"#.to_owned()),
        ..job(user, "unused", JobState::Failed, 1_700_000_000_123)
    }
}
