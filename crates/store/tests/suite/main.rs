//! One test suite, run against both backends: every check below becomes
//! `sqlite::<check>` and `postgres::<check>`. PostgreSQL comes from
//! `ATELIER_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! if it does not answer, the PostgreSQL tests fail and say to run
//! `scripts/test-env.sh`.

mod accounts;
mod fixtures;
mod harness;
mod job_lists;
mod jobs;
mod schema;
mod sessions;
mod single_backend;

/// Generates one `#[tokio::test]` per backend for each `module::check`.
macro_rules! suite {
    ($($module:ident :: $check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    crate::harness::run_sqlite(crate::$module::$check).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    crate::harness::run_postgres(crate::$module::$check).await;
                }
            )*
        }
    };
}

suite! {
    sessions::round_trip_keeps_every_field,
    sessions::update_refuses_a_wrong_from,
    sessions::only_one_of_concurrent_updates_wins,
    sessions::touch_never_moves_backwards,
    sessions::list_filters_and_orders_newest_first,
    sessions::delete_only_from_listed_states,
    sessions::counts_by_state_include_zeros,
    sessions::corrupt_row_is_an_error_naming_the_session,
    accounts::users_upsert_and_list_by_name,
    accounts::api_tokens_are_found_by_hash,
    accounts::logins_expire_and_stay_revoked,
    accounts::rows_for_unknown_users_are_refused,
    jobs::job_round_trip_keeps_every_field,
    jobs::job_update_refuses_a_wrong_from,
    jobs::only_one_of_concurrent_job_updates_wins,
    jobs::job_delete_only_from_listed_states,
    jobs::jobs_of_unknown_users_are_refused,
    jobs::corrupt_job_row_is_an_error_naming_the_job,
    job_lists::job_list_filters_and_orders_newest_first,
    job_lists::job_names_match_literally_and_ignore_case,
    schema::migrations_are_idempotent,
    schema::a_version_1_database_upgrades_in_place,
    schema::concurrent_opens_migrate_once,
    schema::settings_first_writer_wins,
    schema::concurrent_settings_callers_agree,
    schema::audit_lists_newest_first,
}
