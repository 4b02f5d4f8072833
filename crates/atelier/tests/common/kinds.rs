//! Lightweight custom session kinds for tests that need a session but not
//! a whole JupyterLab.

/// Config lines defining `web` (the fixture web app), `broken` (exits 3 at
/// once after printing a message) and `silent` (never answers).
pub fn custom_kinds() -> String {
    let app = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/web_app.py");
    format!(
        r#"
[[kind]]
name = "web"
label = "Test web app"
command = ["/usr/bin/python3", "{app}", "{{socket}}"]
ready_path = "/"

[[kind]]
name = "broken"
command = ["/bin/sh", "-c", "echo 'broken-ide: cannot start' >&2; exit 3", "sh", "{{socket}}"]

[[kind]]
name = "silent"
command = ["/bin/sh", "-c", "exec sleep 600", "sh", "{{socket}}"]
"#
    )
}
