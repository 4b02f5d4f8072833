//! Users, API tokens and browser logins.

use atelier_core::{Role, Timestamp, User};
use atelier_store::{ApiToken, Login, StoreError};

use crate::fixtures::{name, session, user};
use crate::harness::Env;

fn token(id: &str, owner: &str, hash: &str, created: i64) -> ApiToken {
    ApiToken {
        id: id.to_owned(),
        user: name(owner),
        hash: hash.to_owned(),
        label: format!("label of {id}"),
        created_at: Timestamp::from_millis(created),
        last_used_at: None,
    }
}

fn login(hash: &str, owner: &str, expires: i64) -> Login {
    Login {
        hash: hash.to_owned(),
        user: name(owner),
        created_at: Timestamp::from_millis(1_000),
        expires_at: Timestamp::from_millis(expires),
    }
}

pub(crate) async fn users_upsert_and_list_by_name(env: Env) {
    let store = env.open().await;
    let carol = User {
        name: name("carol"),
        role: Role::User,
    };
    let alice = User {
        name: name("alice"),
        role: Role::User,
    };
    store.upsert_user(&carol).await.unwrap();
    store.upsert_user(&alice).await.unwrap();
    let admin = User {
        role: Role::Admin,
        ..alice.clone()
    };
    store.upsert_user(&admin).await.unwrap();

    assert_eq!(
        store.get_user(&alice.name).await.unwrap(),
        Some(admin.clone())
    );
    assert_eq!(store.get_user(&name("nobody")).await.unwrap(), None);
    assert_eq!(store.list_users().await.unwrap(), vec![admin, carol]);
}

pub(crate) async fn api_tokens_are_found_by_hash(env: Env) {
    let store = env.open().await;
    user(&store, "alice").await;
    user(&store, "bob").await;
    let t1 = token("t1", "alice", "hash-one", 2_000);
    let t2 = token("t2", "alice", "hash-two", 1_000);
    let t3 = token("t3", "bob", "hash-three", 1_500);
    for t in [&t1, &t2, &t3] {
        store.insert_api_token(t).await.unwrap();
    }

    assert_eq!(
        store.find_api_token("hash-one").await.unwrap(),
        Some(t1.clone())
    );
    assert_eq!(store.find_api_token("hash-nope").await.unwrap(), None);
    assert_eq!(
        store.list_api_tokens(&name("alice")).await.unwrap(),
        vec![t2.clone(), t1.clone()]
    );

    store
        .touch_api_token("t1", Timestamp::from_millis(7_000))
        .await
        .unwrap();
    store
        .touch_api_token("t1", Timestamp::from_millis(6_000))
        .await
        .unwrap();
    let used = store.find_api_token("hash-one").await.unwrap().unwrap();
    assert_eq!(used.last_used_at, Some(Timestamp::from_millis(7_000)));

    let same_hash = token("t4", "bob", "hash-one", 3_000);
    let clash = store.insert_api_token(&same_hash).await;
    assert!(
        matches!(
            clash,
            Err(StoreError::Conflict {
                table: "api_tokens",
                ..
            })
        ),
        "{clash:?}"
    );
    assert!(store.delete_api_token("t1").await.unwrap());
    assert!(!store.delete_api_token("t1").await.unwrap());
    assert_eq!(store.find_api_token("hash-one").await.unwrap(), None);
    assert_eq!(store.list_api_tokens(&name("bob")).await.unwrap(), vec![t3]);
}

pub(crate) async fn logins_expire_and_stay_revoked(env: Env) {
    let store = env.open().await;
    user(&store, "alice").await;
    let at = Timestamp::from_millis;
    let kept = login("cookie-hash-kept", "alice", 10_000);
    let revoked = login("cookie-hash-revoked", "alice", 10_000);
    let old = login("cookie-hash-old", "alice", 5_000);
    for l in [&kept, &revoked, &old] {
        store.insert_login(l).await.unwrap();
    }

    assert_eq!(
        store.find_login(&kept.hash, at(9_999)).await.unwrap(),
        Some(kept.clone())
    );
    assert_eq!(
        store.find_login(&kept.hash, at(10_000)).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        store
            .find_login("cookie-hash-unknown", at(1))
            .await
            .unwrap(),
        None
    );

    assert!(store
        .find_login(&revoked.hash, at(2_000))
        .await
        .unwrap()
        .is_some());
    store.revoke_login(&revoked.hash).await.unwrap();
    store.revoke_login(&revoked.hash).await.unwrap();
    store.revoke_login("cookie-hash-unknown").await.unwrap();
    assert_eq!(
        store.find_login(&revoked.hash, at(2_000)).await.unwrap(),
        None,
        "revoked"
    );
    let again = store.insert_login(&revoked).await;
    assert!(
        matches!(
            again,
            Err(StoreError::Conflict {
                table: "logins",
                ..
            })
        ),
        "{again:?}"
    );
    assert!(
        !format!("{again:?}").contains("cookie-hash-revoked"),
        "hash in full: {again:?}"
    );
    assert_eq!(
        store.find_login(&revoked.hash, at(2_000)).await.unwrap(),
        None,
        "still revoked"
    );

    assert_eq!(store.purge_expired_logins(at(5_000)).await.unwrap(), 1);
    assert_eq!(store.purge_expired_logins(at(5_000)).await.unwrap(), 0);
    assert_eq!(
        store.find_login(&kept.hash, at(6_000)).await.unwrap(),
        Some(kept)
    );
    assert_eq!(store.purge_expired_logins(at(10_000)).await.unwrap(), 2);
}

pub(crate) async fn rows_for_unknown_users_are_refused(env: Env) {
    let store = env.open().await;
    let ghost = name("ghost");
    let refused = [
        store.insert_api_token(&token("t1", "ghost", "h", 1)).await,
        store.insert_login(&login("h", "ghost", 10)).await,
        store
            .insert_session(&session(&ghost, atelier_core::SessionState::Pending, 1))
            .await,
    ];
    for result in refused {
        match result {
            Err(StoreError::UnknownUser { user, .. }) => assert_eq!(user, "ghost"),
            other => panic!("expected an unknown user, got {other:?}"),
        }
    }
}
