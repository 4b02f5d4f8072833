//! Python and R versions in real Jupyter sessions: the chosen Python runs
//! the kernel, R has its kernel, a version without ipykernel is refused
//! with the reason. Needs scripts/install-languages.sh (/opt/python/3.12,
//! Debian's R with IRkernel).

mod common;

use std::time::Duration;

use common::jupyter::{execute, open_named_kernel, output_of};
use common::kinds::custom_kinds;
use common::{eventually, Client, Server, TestUser};
use serde_json::{json, Value};

async fn running(api: &Client, body: Value) -> Value {
    let created = api.post("/api/v1/sessions", body).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    eventually("the session to run", Duration::from_secs(60), || async {
        let record = api.get(&format!("/api/v1/sessions/{id}")).await.json();
        assert_ne!(record["state"], "failed", "{}", record["error"]);
        (record["state"] == "running").then_some(record)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chosen_python_and_r_run_the_kernels() {
    assert!(
        std::path::Path::new("/opt/python/3.12/bin/python3").exists(),
        "/opt/python/3.12 is missing; run scripts/install-languages.sh"
    );
    let alice = TestUser::create();
    let server = Server::start(&[], &[&alice], "").await;
    let token = server.token(&alice.name);
    let api = server.client().with_token(&token);

    let kinds = api.get("/api/v1/kinds").await.json();
    let python = |name: &str| {
        kinds["python"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
    };
    let p312 = python("3.12").expect("3.12 is offered");
    assert_eq!(
        (p312["available"].as_bool(), p312["jupyter"].as_bool()),
        (Some(true), Some(true))
    );
    let p311 = python("3.11").expect("Debian's 3.11 is offered");
    assert_eq!(p311["jupyter"], false);
    assert!(p311["jupyter_reason"]
        .as_str()
        .unwrap()
        .contains("ipykernel"));
    assert_eq!(kinds["defaults"]["python"], "3.12");
    let r_name = kinds["defaults"]["r"]
        .as_str()
        .expect("R is offered")
        .to_owned();

    // A Python without ipykernel cannot back a Jupyter session: refused, with why.
    let refused = api
        .post(
            "/api/v1/sessions",
            json!({"kind": "jupyterlab", "python": "3.11"}),
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ipykernel"),
        "{}",
        refused.text()
    );
    let unknown = api
        .post(
            "/api/v1/sessions",
            json!({"kind": "jupyterlab", "python": "2.0"}),
        )
        .await;
    assert_eq!(unknown.status, 400);

    let session = running(
        &api,
        json!({"kind": "jupyterlab", "python": "3.12", "r": r_name}),
    )
    .await;
    assert_eq!(
        (session["python"].as_str(), session["r"].as_str()),
        (Some("3.12"), Some(r_name.as_str()))
    );
    let id = session["id"].as_str().unwrap();

    // Only the chosen versions are offered, the Python one first.
    let specs = api.get(&format!("/s/{id}/api/kernelspecs")).await.json();
    let r_kernel = format!("r-{r_name}");
    assert_eq!(specs["default"], "python-3.12");
    let mut names: Vec<&str> = specs["kernelspecs"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    names.sort();
    assert_eq!(names, ["python-3.12", r_kernel.as_str()]);

    let mut kernel = open_named_kernel(&server, &token, id, None).await;
    let msg = execute(
        &mut kernel,
        "import sys, shutil\nprint(sys.version.split()[0])\nprint(shutil.which('python3'))",
    )
    .await;
    let out = output_of(&mut kernel, &msg).await;
    let mut lines = out.lines();
    assert!(lines.next().unwrap().starts_with("3.12."), "{out}");
    assert_eq!(
        lines.next(),
        Some("/opt/python/3.12/bin/python3"),
        "the chosen Python is first on PATH"
    );

    let mut r = open_named_kernel(&server, &token, id, Some(&r_kernel)).await;
    let msg = execute(&mut r, "cat(R.version.string)").await;
    let out = output_of(&mut r, &msg).await;
    assert!(out.starts_with("R version 4."), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_kind_gets_the_chosen_python_first_on_its_path() {
    let alice = TestUser::create();
    let server = Server::start(&[], &[&alice], &custom_kinds()).await;
    let api = server.client().with_token(&server.token(&alice.name));
    for (version, bin) in [("3.11", "/usr/bin"), ("3.12", "/opt/python/3.12/bin")] {
        // Outside Jupyter, a Python without ipykernel is fine.
        let session = running(&api, json!({"kind": "web", "python": version})).await;
        let id = session["id"].as_str().unwrap();
        let seen = api.get(&format!("/s/{id}/")).await.json();
        let path = seen["path_env"].as_str().unwrap();
        assert!(
            path.starts_with(&format!("{bin}:")),
            "{version}: PATH={path}"
        );
    }
}
