//! Sample records for the checks.

use std::sync::Arc;

use atelier_core::{
    Role, Session, SessionId, SessionKind, SessionState, Timestamp, User, UserName,
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
