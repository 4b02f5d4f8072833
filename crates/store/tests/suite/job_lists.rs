//! Listing jobs: newest first, each filter field alone and combined, names
//! matched literally (a `%` or `_` typed by a user is not a wildcard), and
//! the limit.

use std::sync::Arc;

use atelier_core::{Job, JobId, JobState, Timestamp};
use atelier_store::{JobFilter, Store};

use crate::fixtures::{job, user};
use crate::harness::Env;

use JobState::*;

/// The ids `filter` lists, in order.
async fn ids(store: &Arc<dyn Store>, filter: JobFilter) -> Vec<JobId> {
    let found = store.list_jobs(&filter).await.unwrap();
    found.into_iter().map(|j| j.id).collect()
}

fn ids_of(jobs: &[&Job]) -> Vec<JobId> {
    jobs.iter().map(|j| j.id.clone()).collect()
}

fn ended(mut j: Job, at: i64, node: &str) -> Job {
    j.ended_at = Some(Timestamp::from_millis(at));
    j.node = Some(node.to_owned());
    j
}

pub(crate) async fn job_list_filters_and_orders_newest_first(env: Env) {
    let store = env.open().await;
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let a1 = ended(job(&alice, "Train model", Finished, 1_000), 1_500, "n1");
    let a2 = job(&alice, "100% sure", Running, 3_000);
    let a3 = ended(job(&alice, "1000 runs", Failed, 5_000), 5_500, "n2");
    let b1 = ended(job(&bob, "my_job", Canceled, 2_000), 9_000, "n1");
    let b2 = job(&bob, "myXjob TRAIN", Pending, 4_000);
    for j in [&a1, &a2, &a3, &b1, &b2] {
        store.insert_job(j).await.unwrap();
    }
    let f = JobFilter::default;

    assert_eq!(ids(&store, f()).await, ids_of(&[&a3, &b2, &a2, &b1, &a1]));
    let of_bob = JobFilter {
        user: Some(bob.clone()),
        ..f()
    };
    assert_eq!(ids(&store, of_bob).await, ids_of(&[&b2, &b1]));
    let ended_states = JobFilter {
        states: Some(vec![Finished, Failed, Canceled]),
        ..f()
    };
    assert_eq!(ids(&store, ended_states).await, ids_of(&[&a3, &b1, &a1]));
    let no_states = JobFilter {
        states: Some(Vec::new()),
        ..f()
    };
    assert!(ids(&store, no_states).await.is_empty());
    let on_n1 = JobFilter {
        node: Some("n1".to_owned()),
        ..f()
    };
    assert_eq!(ids(&store, on_n1).await, ids_of(&[&b1, &a1]));

    // Time bounds: created_after is inclusive, the "before"s are exclusive,
    // and a job that has not ended is never "ended before" anything.
    let after = JobFilter {
        created_after: Some(Timestamp::from_millis(3_000)),
        ..f()
    };
    assert_eq!(ids(&store, after).await, ids_of(&[&a3, &b2, &a2]));
    let before = JobFilter {
        created_before: Some(Timestamp::from_millis(3_000)),
        ..f()
    };
    assert_eq!(ids(&store, before).await, ids_of(&[&b1, &a1]));
    let ended_before = JobFilter {
        ended_before: Some(Timestamp::from_millis(5_500)),
        ..f()
    };
    assert_eq!(ids(&store, ended_before).await, ids_of(&[&a1]));
    let ended_later = JobFilter {
        ended_before: Some(Timestamp::from_millis(10_000)),
        ..f()
    };
    assert_eq!(ids(&store, ended_later).await, ids_of(&[&a3, &b1, &a1]));

    let limited = JobFilter {
        limit: Some(2),
        ..f()
    };
    assert_eq!(ids(&store, limited).await, ids_of(&[&a3, &b2]));
    let zero = JobFilter {
        limit: Some(0),
        ..f()
    };
    assert!(ids(&store, zero).await.is_empty());

    let narrow = JobFilter {
        user: Some(alice.clone()),
        states: Some(vec![Finished, Failed, Running]),
        name_contains: Some("1".to_owned()),
        created_after: Some(Timestamp::from_millis(1_000)),
        created_before: Some(Timestamp::from_millis(5_001)),
        ended_before: Some(Timestamp::from_millis(6_000)),
        node: Some("n2".to_owned()),
        limit: Some(5),
    };
    assert_eq!(ids(&store, narrow).await, ids_of(&[&a3]));
    let window = JobFilter {
        user: Some(alice),
        created_after: Some(Timestamp::from_millis(1_000)),
        created_before: Some(Timestamp::from_millis(5_000)),
        limit: Some(1),
        ..f()
    };
    assert_eq!(ids(&store, window).await, ids_of(&[&a2]));
}

pub(crate) async fn job_names_match_literally_and_ignore_case(env: Env) {
    let store = env.open().await;
    let alice = user(&store, "alice").await;
    let train = job(&alice, "Train model", Finished, 1_000);
    let percent = job(&alice, "100% sure", Running, 2_000);
    let thousand = job(&alice, "1000 runs", Failed, 3_000);
    let underscore = job(&alice, "my_job", Canceled, 4_000);
    let lookalike = job(&alice, "myXjob TRAIN", Pending, 5_000);
    let slash = job(&alice, r"C:\temp\x", Pending, 6_000);
    for j in [&train, &percent, &thousand, &underscore, &lookalike, &slash] {
        store.insert_job(j).await.unwrap();
    }
    let named = |text: &str| JobFilter {
        name_contains: Some(text.to_owned()),
        ..JobFilter::default()
    };

    assert_eq!(
        ids(&store, named("train")).await,
        ids_of(&[&lookalike, &train])
    );
    assert_eq!(ids(&store, named("MODEL")).await, ids_of(&[&train]));
    assert_eq!(ids(&store, named("0%")).await, ids_of(&[&percent]));
    assert_eq!(ids(&store, named("%")).await, ids_of(&[&percent]));
    assert_eq!(ids(&store, named("y_j")).await, ids_of(&[&underscore]));
    assert_eq!(ids(&store, named("_")).await, ids_of(&[&underscore]));
    assert_eq!(ids(&store, named(r"\t")).await, ids_of(&[&slash]));
    assert_eq!(ids(&store, named(r"\")).await, ids_of(&[&slash]));
    assert!(ids(&store, named("nothing like it")).await.is_empty());
    assert_eq!(ids(&store, named("")).await.len(), 6);
    let both = JobFilter {
        states: Some(vec![Running, Failed]),
        ..named("10")
    };
    assert_eq!(ids(&store, both).await, ids_of(&[&thousand, &percent]));
}
