//! Session records: round trips, compare-and-set, activity, listing,
//! deletion, counts, and rows that no longer parse.

use atelier_core::{SessionState, Timestamp};
use atelier_store::{SessionChange, SessionFilter, StoreError};

use crate::fixtures::{full_session, session, user};
use crate::harness::Env;

use SessionState::*;

pub(crate) async fn round_trip_keeps_every_field(env: Env) {
    let store = env.open().await;
    let alice = user(&store, "alice").await;
    let full = full_session(&alice);
    let bare = session(&alice, Pending, 1_000);
    store.insert_session(&full).await.unwrap();
    store.insert_session(&bare).await.unwrap();

    let back = store
        .get_session(&full.id)
        .await
        .unwrap()
        .expect("full session stored");
    assert!(back == full, "full session changed: {back:?}");
    assert_eq!(back.secret, full.secret);
    assert_eq!(back.handle, full.handle);
    assert_eq!(back.exit_code, Some(-3));
    let back = store
        .get_session(&bare.id)
        .await
        .unwrap()
        .expect("bare session stored");
    assert!(back == bare, "bare session changed: {back:?}");
    let other = atelier_core::SessionId::generate();
    assert!(store.get_session(&other).await.unwrap().is_none());

    let again = store.insert_session(&bare).await;
    assert!(
        matches!(
            again,
            Err(StoreError::Conflict {
                table: "sessions",
                ..
            })
        ),
        "{again:?}"
    );
}

pub(crate) async fn update_refuses_a_wrong_from(env: Env) {
    let store = env.open().await;
    let alice = user(&store, "alice").await;
    let s = session(&alice, Pending, 1_000);
    store.insert_session(&s).await.unwrap();
    let start = SessionChange {
        state: Some(Starting),
        node: Some("node-1".to_owned()),
        handle: Some("{}".to_owned()),
        ..SessionChange::default()
    };

    let refused = store
        .update_session(&s.id, &[Running, Stopping], &start)
        .await
        .unwrap();
    assert!(refused.is_none());
    assert!(
        store.get_session(&s.id).await.unwrap().unwrap() == s,
        "refused update changed it"
    );

    let updated = store
        .update_session(&s.id, &[Pending], &start)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.state, Starting);
    assert_eq!(updated.node.as_deref(), Some("node-1"));
    assert_eq!(updated.handle.as_deref(), Some("{}"));
    assert_eq!(
        (updated.secret.as_str(), updated.created_at),
        (s.secret.as_str(), s.created_at)
    );
    assert!(store.get_session(&s.id).await.unwrap().unwrap() == updated);

    // None leaves columns alone: only the state and exit code change here.
    let stop = SessionChange {
        state: Some(Stopped),
        exit_code: Some(0),
        ..Default::default()
    };
    let stopped = store
        .update_session(&s.id, &[Starting], &stop)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stopped.state, stopped.exit_code), (Stopped, Some(0)));
    assert_eq!(stopped.node.as_deref(), Some("node-1"));
    assert!(store
        .update_session(&s.id, &[], &stop)
        .await
        .unwrap()
        .is_none());
    let missing = atelier_core::SessionId::generate();
    assert!(store
        .update_session(&missing, &SessionState::ALL, &stop)
        .await
        .unwrap()
        .is_none());
}

pub(crate) async fn only_one_of_concurrent_updates_wins(env: Env) {
    // Two stores on one database stand for two server processes.
    let stores = [env.open().await, env.open().await];
    let alice = user(&stores[0], "alice").await;
    let s = session(&alice, Starting, 1_000);
    stores[0].insert_session(&s).await.unwrap();

    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = stores[i % 2].clone();
        let id = s.id.clone();
        let change = SessionChange {
            state: Some(Running),
            node: Some(format!("node-{i}")),
            ..SessionChange::default()
        };
        tasks.push(tokio::spawn(async move {
            store
                .update_session(&id, &[Starting], &change)
                .await
                .unwrap()
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        winners.extend(task.await.unwrap());
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let stored = stores[1].get_session(&s.id).await.unwrap().unwrap();
    assert_eq!(stored.state, Running);
    assert_eq!(stored.node, winners[0].node);
}

pub(crate) async fn touch_never_moves_backwards(env: Env) {
    let store = env.open().await;
    let alice = user(&store, "alice").await;
    let s = session(&alice, Running, 1_000);
    store.insert_session(&s).await.unwrap();
    let last_active = |at: Option<Timestamp>| at.map(Timestamp::as_millis);

    for (touch, expected) in [
        (5_000, 5_000),
        (4_000, 5_000),
        (5_000, 5_000),
        (9_000, 9_000),
    ] {
        store
            .touch_session(&s.id, Timestamp::from_millis(touch))
            .await
            .unwrap();
        let now = store.get_session(&s.id).await.unwrap().unwrap();
        assert_eq!(
            last_active(now.last_active_at),
            Some(expected),
            "after touching {touch}"
        );
    }
    let missing = atelier_core::SessionId::generate();
    store
        .touch_session(&missing, Timestamp::from_millis(1))
        .await
        .unwrap();
}

pub(crate) async fn list_filters_and_orders_newest_first(env: Env) {
    let store = env.open().await;
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let mut a1 = session(&alice, Running, 1_000);
    a1.node = Some("n1".to_owned());
    let a2 = session(&alice, Stopped, 3_000);
    let mut b1 = session(&bob, Running, 2_000);
    b1.node = Some("n2".to_owned());
    let mut b2 = session(&bob, Pending, 4_000);
    b2.node = Some("n1".to_owned());
    for s in [&a1, &a2, &b1, &b2] {
        store.insert_session(s).await.unwrap();
    }
    let ids = |filter: SessionFilter| {
        let store = store.clone();
        async move {
            let found = store.list_sessions(&filter).await.unwrap();
            found.into_iter().map(|s| s.id).collect::<Vec<_>>()
        }
    };

    let all = vec![b2.id.clone(), a2.id.clone(), b1.id.clone(), a1.id.clone()];
    assert_eq!(ids(SessionFilter::default()).await, all);
    let of_alice = SessionFilter {
        user: Some(alice.clone()),
        ..Default::default()
    };
    assert_eq!(ids(of_alice).await, vec![a2.id.clone(), a1.id.clone()]);
    let active = SessionFilter {
        states: Some(SessionState::ACTIVE.to_vec()),
        ..Default::default()
    };
    assert_eq!(
        ids(active).await,
        vec![b2.id.clone(), b1.id.clone(), a1.id.clone()]
    );
    let on_n1 = SessionFilter {
        node: Some("n1".to_owned()),
        ..Default::default()
    };
    assert_eq!(ids(on_n1).await, vec![b2.id.clone(), a1.id.clone()]);
    let narrow = SessionFilter {
        user: Some(bob.clone()),
        states: Some(vec![Running, Stopped]),
        node: Some("n2".to_owned()),
    };
    assert_eq!(ids(narrow).await, vec![b1.id.clone()]);
    let no_states = SessionFilter {
        states: Some(Vec::new()),
        ..Default::default()
    };
    assert!(ids(no_states).await.is_empty());
    let nobody = SessionFilter {
        node: Some("n9".to_owned()),
        ..Default::default()
    };
    assert!(ids(nobody).await.is_empty());
}

pub(crate) async fn delete_only_from_listed_states(env: Env) {
    let store = env.open().await;
    let alice = user(&store, "alice").await;
    let s = session(&alice, Running, 1_000);
    store.insert_session(&s).await.unwrap();

    assert!(!store
        .delete_session(&s.id, &[Stopped, Failed])
        .await
        .unwrap());
    assert!(store.get_session(&s.id).await.unwrap().is_some());
    assert!(store
        .delete_session(&s.id, &[Stopped, Running])
        .await
        .unwrap());
    assert!(store.get_session(&s.id).await.unwrap().is_none());
    assert!(!store
        .delete_session(&s.id, &SessionState::ALL)
        .await
        .unwrap());
}

pub(crate) async fn counts_by_state_include_zeros(env: Env) {
    let store = env.open().await;
    let alice = user(&store, "alice").await;
    let empty = store.count_sessions_by_state().await.unwrap();
    assert_eq!(empty, SessionState::ALL.map(|state| (state, 0)).to_vec());

    for (i, state) in [Running, Running, Pending, Failed, Running]
        .into_iter()
        .enumerate()
    {
        store
            .insert_session(&session(&alice, state, i as i64))
            .await
            .unwrap();
    }
    let counts = store.count_sessions_by_state().await.unwrap();
    let expected = [
        (Pending, 1),
        (Starting, 0),
        (Running, 3),
        (Stopping, 0),
        (Stopped, 0),
        (Failed, 1),
        (Lost, 0),
    ];
    assert_eq!(counts, expected.to_vec());
}

pub(crate) async fn corrupt_row_is_an_error_naming_the_session(env: Env) {
    let store = env.open().await;
    let alice = user(&store, "alice").await;
    let s = session(&alice, Running, 1_000);
    store.insert_session(&s).await.unwrap();
    env.exec(&format!(
        "UPDATE sessions SET state = 'exploded' WHERE id = '{}'",
        s.id
    ))
    .await;

    let err = store.get_session(&s.id).await.unwrap_err();
    match &err {
        StoreError::CorruptRow {
            table, id, column, ..
        } => {
            assert_eq!(
                (*table, id.as_str(), *column),
                ("sessions", s.id.as_str(), "state")
            );
        }
        other => panic!("expected a corrupt row, got {other:?}"),
    }
    assert!(err.to_string().contains(s.id.as_str()), "{err}");
    assert!(
        !format!("{err} {err:?}").contains(&s.secret),
        "the secret leaked: {err:?}"
    );
    assert!(store.list_sessions(&Default::default()).await.is_err());
    assert!(store.count_sessions_by_state().await.is_err());
}
