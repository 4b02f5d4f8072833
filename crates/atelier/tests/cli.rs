//! The command line: `session` commands against the API, `config check`,
//! `user add` and `token create`.

mod common;

use common::kinds::custom_kinds;
use common::{Server, TestUser};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_commands_drive_the_api() {
    let alice = TestUser::create();
    let server = Server::start(&[], &[&alice], &custom_kinds()).await;
    let token = server.token(&alice.name);
    let url = server.url();
    let env = [
        ("ATELIER_TOKEN", token.as_str()),
        ("ATELIER_SERVER", url.as_str()),
    ];

    let (ok, out, err) = server.cli(
        &[
            "session", "start", "--kind", "web", "--name", "from cli", "--wait",
        ],
        &env,
    );
    assert!(ok, "{err}");
    let id = out.split_whitespace().next().unwrap().to_owned();
    assert!(
        out.contains("running") && out.contains(&format!("{url}/s/{id}/")),
        "{out}"
    );

    let (ok, out, _) = server.cli(&["session", "list"], &env);
    assert!(ok);
    let row = out
        .lines()
        .find(|line| line.starts_with(&id))
        .expect("the session is listed");
    assert!(
        row.contains("web") && row.contains("running") && row.ends_with("from cli"),
        "{row}"
    );

    let (ok, out, err) = server.cli(&["session", "stop", &id, "--wait"], &env);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("{id} stopped"));

    let (ok, _, err) = server.cli(&["session", "start", "--kind", "broken", "--wait"], &env);
    assert!(!ok);
    assert!(
        err.contains("the session failed") && err.contains("status 3"),
        "{err}"
    );

    let (ok, _, err) = server.cli(
        &["session", "stop", "0123456789abcdef0123456789abcdef"],
        &env,
    );
    assert!(!ok);
    assert!(err.contains("404") && err.contains("not found"), "{err}");
    let wrong = [
        ("ATELIER_TOKEN", "atl_nope"),
        ("ATELIER_SERVER", url.as_str()),
    ];
    let (ok, _, err) = server.cli(&["session", "list"], &wrong);
    assert!(!ok && err.contains("401"), "{err}");
}

#[test]
fn config_check_explains_errors_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("atelier.toml");
    let config = path.to_str().unwrap();
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:1\"\n\n[auth]\nprovider = \"users-file\"\nmin_uid = \"high\"\n",
    )
    .unwrap();
    let output = std::process::Command::new(common::server::binary())
        .args(["config", "check", "--config", config])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains(&format!("{config}:5:")), "{error}");

    let data = dir.path().join("data");
    std::fs::write(
        &path,
        format!(
            "data_dir = \"{}\"\n[auth]\nprovider = \"users-file\"\n",
            data.display()
        ),
    )
    .unwrap();
    let output = std::process::Command::new(common::server::binary())
        .args(["config", "check", "--config", config])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        report.contains("valid") && report.contains("kind jupyterlab"),
        "{report}"
    );
}

#[test]
fn user_add_validates_and_keeps_the_file_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("atelier.toml");
    std::fs::write(
        &path,
        format!(
            "data_dir = \"{}\"\n[auth]\nprovider = \"users-file\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let add = |name: &str, password: &str| {
        let mut child = std::process::Command::new(common::server::binary())
            .args([
                "user",
                "add",
                name,
                "--password-stdin",
                "--config",
                path.to_str().unwrap(),
            ])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(
            child.stdin.as_mut().unwrap(),
            format!("{password}\n").as_bytes(),
        )
        .unwrap();
        let output = child.wait_with_output().unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (ok, error) = add("Bad Name", "long enough password");
    assert!(!ok && error.contains("user name"), "{error}");
    let (ok, error) = add("carol", "short");
    assert!(!ok && error.contains("8"), "{error}");
    assert!(add("carol", "long enough password").0);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.path().join("data/users"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let text = std::fs::read_to_string(dir.path().join("data/users")).unwrap();
    assert!(text.contains("carol:user:$argon2id$") && !text.contains("long enough password"));
}
