//! Migrations, settings and the audit log.

use atelier_core::{JobState, SessionState, Timestamp};
use atelier_store::{AuditEvent, StoreConfig};

use crate::fixtures::{job, name, session, user};
use crate::harness::Env;

pub(crate) async fn migrations_are_idempotent(env: Env) {
    let first = env.open().await;
    let alice = user(&first, "alice").await;
    let s = session(&alice, atelier_core::SessionState::Running, 1_000);
    first.insert_session(&s).await.unwrap();
    let versions = env
        .query_i64("SELECT COUNT(*) FROM schema_migrations")
        .await;
    assert!(versions >= 1);
    drop(first);

    let second = env.open().await;
    let third = env.open().await;
    assert_eq!(
        env.query_i64("SELECT COUNT(*) FROM schema_migrations")
            .await,
        versions
    );
    assert!(
        second.get_session(&s.id).await.unwrap().unwrap() == s,
        "data lost on reopen"
    );
    third.ping().await.unwrap();
}

/// Migration 1 exactly as released, and its bookkeeping, for building a
/// database that an older Atelier left behind.
const V1_SQLITE: &str = include_str!("../../src/migrations/0001_initial.sqlite.sql");
const V1_POSTGRES: &str = include_str!("../../src/migrations/0001_initial.postgres.sql");
const V1_BOOKKEEPING: &str = "CREATE TABLE schema_migrations (
    version BIGINT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
);
INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, 'initial schema', 1000);
INSERT INTO users (name, role) VALUES ('alice', 'user');";

pub(crate) async fn a_version_1_database_upgrades_in_place(env: Env) {
    let v1 = match env.config {
        StoreConfig::Sqlite { .. } => V1_SQLITE,
        StoreConfig::Postgres { .. } => V1_POSTGRES,
    };
    env.exec(&format!("{v1};\n{V1_BOOKKEEPING}")).await;
    let alice = name("alice");
    let s = session(&alice, SessionState::Running, 1_000);
    let insert_session = format!(
        "INSERT INTO sessions (id, user_name, kind, name, state, cluster, created_at, secret) \
         VALUES ('{}', 'alice', 'jupyterlab', 'analysis', 'running', 'local', 1000, '{}')",
        s.id, s.secret
    );
    env.exec(&insert_session).await;

    let store = env.open().await;
    let versions = "SELECT COUNT(*) FROM schema_migrations WHERE version IN (1, 2)";
    assert_eq!(env.query_i64(versions).await, 2);
    assert!(
        store.get_session(&s.id).await.unwrap().unwrap() == s,
        "the old session changed"
    );
    let j = job(&alice, "first job", JobState::Pending, 2_000);
    store.insert_job(&j).await.unwrap();
    assert_eq!(store.get_job(&j.id).await.unwrap(), Some(j));
    drop(store);
    env.open().await.ping().await.unwrap();
    assert_eq!(
        env.query_i64("SELECT COUNT(*) FROM schema_migrations")
            .await,
        2
    );
}

pub(crate) async fn concurrent_opens_migrate_once(env: Env) {
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let env = env.clone();
            tokio::spawn(async move { env.open().await })
        })
        .collect();
    let mut stores = Vec::new();
    for open in opens {
        stores.push(open.await.unwrap());
    }
    for store in &stores {
        store.ping().await.unwrap();
    }
    let applied = env
        .query_i64("SELECT COUNT(*) FROM schema_migrations")
        .await;
    let distinct = env
        .query_i64("SELECT COUNT(DISTINCT version) FROM schema_migrations")
        .await;
    assert_eq!(applied, distinct);
    assert!(applied >= 1);
}

pub(crate) async fn settings_first_writer_wins(env: Env) {
    let store = env.open().await;
    assert_eq!(
        store
            .get_or_insert_setting("cookie_key", "first")
            .await
            .unwrap(),
        "first"
    );
    assert_eq!(
        store
            .get_or_insert_setting("cookie_key", "second")
            .await
            .unwrap(),
        "first"
    );
    assert_eq!(
        store.get_or_insert_setting("other", "x").await.unwrap(),
        "x"
    );
    let reopened = env.open().await;
    assert_eq!(
        reopened
            .get_or_insert_setting("cookie_key", "third")
            .await
            .unwrap(),
        "first"
    );
}

pub(crate) async fn concurrent_settings_callers_agree(env: Env) {
    let stores = [env.open().await, env.open().await];
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = stores[i % 2].clone();
            tokio::spawn(async move {
                let mine = format!("key-from-{i}");
                (
                    mine.clone(),
                    store
                        .get_or_insert_setting("signing_key", &mine)
                        .await
                        .unwrap(),
                )
            })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.unwrap());
    }
    let winner = seen[0].1.clone();
    assert!(
        seen.iter().all(|(_, got)| *got == winner),
        "callers disagree: {seen:?}"
    );
    assert!(
        seen.iter().any(|(mine, _)| *mine == winner),
        "{winner} came from nobody"
    );
}

pub(crate) async fn audit_lists_newest_first(env: Env) {
    let store = env.open().await;
    assert!(store.list_audit(10).await.unwrap().is_empty());
    let event = |at: i64, action: &str| AuditEvent {
        at: Timestamp::from_millis(at),
        user: Some(name("alice")),
        action: action.to_owned(),
        target: Some("3f0c9a1e5b7d4c2a8e6f1b3d5a7c9e0f".to_owned()),
        detail: None,
    };
    let system = AuditEvent {
        user: None,
        detail: Some("startup".to_owned()),
        ..event(1_500, "boot")
    };
    // Audit events may name users that were never stored (failed logins).
    for e in [
        event(1_000, "login"),
        event(3_000, "session.stop"),
        system.clone(),
    ] {
        store.append_audit(&e).await.unwrap();
    }
    store
        .append_audit(&event(3_000, "session.delete"))
        .await
        .unwrap();

    let actions: Vec<_> = store
        .list_audit(10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["session.delete", "session.stop", "boot", "login"]);
    let latest = store.list_audit(2).await.unwrap();
    assert_eq!(latest.len(), 2);
    assert_eq!(store.list_audit(10).await.unwrap()[2], system);
    assert!(store.list_audit(0).await.unwrap().is_empty());
}
