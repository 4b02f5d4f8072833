//! Checks that concern one backend only: the SQLite file's mode and folder,
//! and PostgreSQL connection failures.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use atelier_core::SessionState;
use atelier_store::{StoreConfig, StoreError};

use crate::fixtures::{session, user};
use crate::harness::{chain, run_sqlite, Env};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn companion(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

#[tokio::test]
async fn sqlite_files_are_private() {
    run_sqlite(|env: Env| async move {
        let store = env.open().await;
        let alice = user(&store, "alice").await;
        for i in 0..20 {
            store
                .insert_session(&session(&alice, SessionState::Running, i))
                .await
                .unwrap();
        }
        let path = env.sqlite_path().unwrap();
        assert_eq!(mode(path), 0o600, "database file");
        for suffix in ["-wal", "-shm"] {
            let file = companion(path, suffix);
            assert!(
                file.exists(),
                "{} missing: not in WAL mode?",
                file.display()
            );
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
    })
    .await;
}

#[tokio::test]
async fn sqlite_narrows_a_loose_existing_file() {
    run_sqlite(|env: Env| async move {
        let path = env.sqlite_path().unwrap().to_path_buf();
        std::fs::write(&path, b"").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        env.open().await.ping().await.unwrap();
        assert_eq!(mode(&path), 0o600);
    })
    .await;
}

#[tokio::test]
async fn sqlite_needs_an_existing_folder() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent").join("atelier.db");
    let result = atelier_store::open(&StoreConfig::Sqlite { path }).await;
    match result {
        Err(StoreError::MissingDir { dir: missing }) => assert!(missing.ends_with("absent")),
        Err(other) => panic!("expected a missing folder, got {other:?}"),
        Ok(_) => panic!("opened a database in a folder that does not exist"),
    }
    assert!(
        !dir.path().join("absent").exists(),
        "the folder was created"
    );
}

#[tokio::test]
async fn postgres_that_does_not_answer_is_an_error() {
    // Port 1 on loopback refuses at once.
    let config = StoreConfig::Postgres {
        url: "postgres://u:pw@127.0.0.1:1/db".to_owned(),
    };
    let started = std::time::Instant::now();
    let err = atelier_store::open(&config)
        .await
        .err()
        .expect("open must fail");
    assert!(
        matches!(err, StoreError::Pool { op: "migrate", .. }),
        "{err:?}"
    );
    assert!(
        started.elapsed().as_secs() < 10,
        "took {:?}",
        started.elapsed()
    );
    assert!(!chain(&err).contains("pw@"), "{}", chain(&err));
}

#[tokio::test]
async fn postgres_url_that_does_not_parse_is_an_error() {
    let config = StoreConfig::Postgres {
        url: "postgres://u@h:notaport/db".to_owned(),
    };
    let err = atelier_store::open(&config)
        .await
        .err()
        .expect("open must fail");
    assert!(matches!(err, StoreError::PostgresUrl { .. }), "{err:?}");
}
