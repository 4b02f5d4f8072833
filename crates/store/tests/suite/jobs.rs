//! Job records: round trips, compare-and-set, deletion, unknown owners and
//! rows that no longer parse. Listing is in `job_lists.rs`.

use atelier_core::{JobId, JobState, Timestamp};
use atelier_store::{JobChange, StoreError};

use crate::fixtures::{full_job, job, name, user};
use crate::harness::Env;

use JobState::*;

pub(crate) async fn job_round_trip_keeps_every_field(env: Env) {
    let store = env.open().await;
    let alice = user(&store, "alice").await;
    let full = full_job(&alice);
    let bare = job(&alice, "bare", Pending, 1_000);
    store.insert_job(&full).await.unwrap();
    store.insert_job(&bare).await.unwrap();

    let back = store.get_job(&full.id).await.unwrap().expect("full job");
    assert_eq!(back, full);
    assert_eq!(back.command.len(), 6);
    assert_eq!(back.command[2], "--title=\"Ünïcode — 'quoted'\"");
    assert_eq!(
        back.env.get("QUOTES").map(String::as_str),
        Some("it's \"here\"")
    );
    assert_eq!(back.env.get("EMPTY").map(String::as_str), Some(""));
    let back = store.get_job(&bare.id).await.unwrap().expect("bare job");
    assert_eq!(back, bare);
    assert!(back.env.is_empty());
    assert!(store.get_job(&JobId::generate()).await.unwrap().is_none());

    let again = store.insert_job(&bare).await;
    assert!(
        matches!(again, Err(StoreError::Conflict { table: "jobs", .. })),
        "{again:?}"
    );
}

pub(crate) async fn job_update_refuses_a_wrong_from(env: Env) {
    let store = env.open().await;
    let alice = user(&store, "alice").await;
    let j = job(&alice, "train", Pending, 1_000);
    store.insert_job(&j).await.unwrap();
    let start = JobChange {
        state: Some(Running),
        node: Some("node-1".to_owned()),
        started_at: Some(Timestamp::from_millis(2_000)),
        handle: Some(r#"{"pid":7}"#.to_owned()),
        ..JobChange::default()
    };

    let refused = store.update_job(&j.id, &[Running], &start).await.unwrap();
    assert!(refused.is_none());
    assert_eq!(
        store.get_job(&j.id).await.unwrap().unwrap(),
        j,
        "refused update changed it"
    );

    let running = store
        .update_job(&j.id, &[Pending], &start)
        .await
        .unwrap()
        .expect("pending job starts");
    let expected = atelier_core::Job {
        state: Running,
        node: Some("node-1".to_owned()),
        started_at: Some(Timestamp::from_millis(2_000)),
        handle: Some(r#"{"pid":7}"#.to_owned()),
        ..j.clone()
    };
    assert_eq!(running, expected);
    assert_eq!(store.get_job(&j.id).await.unwrap().unwrap(), running);

    // None leaves columns alone.
    let finish = JobChange {
        state: Some(Failed),
        ended_at: Some(Timestamp::from_millis(3_000)),
        exit_code: Some(2),
        error: Some("exited with status 2".to_owned()),
        ..JobChange::default()
    };
    let failed = store
        .update_job(&j.id, &[Pending, Running], &finish)
        .await
        .unwrap()
        .expect("running job ends");
    assert_eq!((failed.state, failed.exit_code), (Failed, Some(2)));
    assert_eq!(failed.node.as_deref(), Some("node-1"));
    assert_eq!(failed.handle.as_deref(), Some(r#"{"pid":7}"#));
    assert_eq!(failed.command, j.command);
    assert!(store
        .update_job(&j.id, &[Running], &finish)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .update_job(&j.id, &[], &finish)
        .await
        .unwrap()
        .is_none());
    let missing = JobId::generate();
    assert!(store
        .update_job(&missing, &JobState::ALL, &finish)
        .await
        .unwrap()
        .is_none());
}

pub(crate) async fn only_one_of_concurrent_job_updates_wins(env: Env) {
    // Two stores on one database stand for two server processes.
    let stores = [env.open().await, env.open().await];
    let alice = user(&stores[0], "alice").await;
    let j = job(&alice, "race", Pending, 1_000);
    stores[0].insert_job(&j).await.unwrap();

    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = stores[i % 2].clone();
        let id = j.id.clone();
        let change = JobChange {
            state: Some(Running),
            node: Some(format!("node-{i}")),
            ..JobChange::default()
        };
        tasks.push(tokio::spawn(async move {
            store.update_job(&id, &[Pending], &change).await.unwrap()
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        winners.extend(task.await.unwrap());
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let stored = stores[1].get_job(&j.id).await.unwrap().unwrap();
    assert_eq!(stored.state, Running);
    assert_eq!(stored.node, winners[0].node);
}

pub(crate) async fn job_delete_only_from_listed_states(env: Env) {
    let store = env.open().await;
    let alice = user(&store, "alice").await;
    let j = job(&alice, "old", Running, 1_000);
    store.insert_job(&j).await.unwrap();

    assert!(!store
        .delete_job(&j.id, &[Finished, Failed, Canceled])
        .await
        .unwrap());
    assert!(!store.delete_job(&j.id, &[]).await.unwrap());
    assert!(store.get_job(&j.id).await.unwrap().is_some());
    assert!(store.delete_job(&j.id, &[Finished, Running]).await.unwrap());
    assert!(store.get_job(&j.id).await.unwrap().is_none());
    assert!(!store.delete_job(&j.id, &JobState::ALL).await.unwrap());
}

pub(crate) async fn jobs_of_unknown_users_are_refused(env: Env) {
    let store = env.open().await;
    let ghost = name("ghost");
    let j = job(&ghost, "orphan", Pending, 1_000);
    match store.insert_job(&j).await {
        Err(StoreError::UnknownUser { table, user }) => {
            assert_eq!((table, user.as_str()), ("jobs", "ghost"));
        }
        other => panic!("expected an unknown user, got {other:?}"),
    }
    assert!(store.get_job(&j.id).await.unwrap().is_none());
}

pub(crate) async fn corrupt_job_row_is_an_error_naming_the_job(env: Env) {
    let store = env.open().await;
    let alice = user(&store, "alice").await;
    let bad_state = job(&alice, "a", Running, 1_000);
    let bad_command = job(&alice, "b", Running, 2_000);
    let bad_env = job(&alice, "c", Running, 3_000);
    for j in [&bad_state, &bad_command, &bad_env] {
        store.insert_job(j).await.unwrap();
    }
    let edits = [
        (&bad_state, "state = 'exploded'", "state"),
        (&bad_command, "command = 'rm -rf /'", "command"),
        (&bad_env, "env = '[\"not\", \"an object\"]'", "env"),
    ];
    for (j, set, _) in edits {
        env.exec(&format!("UPDATE jobs SET {set} WHERE id = '{}'", j.id))
            .await;
    }

    for (j, _, expected_column) in edits {
        let err = store.get_job(&j.id).await.unwrap_err();
        match &err {
            StoreError::CorruptRow {
                table, id, column, ..
            } => {
                assert_eq!(
                    (*table, id.as_str(), *column),
                    ("jobs", j.id.as_str(), expected_column)
                );
            }
            other => panic!("expected a corrupt row, got {other:?}"),
        }
        assert!(err.to_string().contains(j.id.as_str()), "{err}");
    }
    assert!(store.list_jobs(&Default::default()).await.is_err());
}
