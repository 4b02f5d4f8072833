//! Unit tests: naming, ordering, the probe's edge cases (with small shell
//! scripts standing in for broken interpreters) and the generated files.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::candidates::Candidate;
use super::kernels::kernel_name;
use super::probe::{probe, Probe};
use super::*;

fn interpreter(language: Language, name: &str, path: &str, version: &str) -> Interpreter {
    Interpreter {
        name: name.to_owned(),
        language,
        path: PathBuf::from(path),
        version: version.to_owned(),
        available: true,
        reason: None,
        jupyter: true,
        jupyter_reason: None,
    }
}

fn candidate(name: Option<&str>, label: Option<&str>, path: &str) -> Candidate {
    Candidate {
        name: name.map(str::to_owned),
        label: label.map(str::to_owned),
        path: PathBuf::from(path),
    }
}

fn ran(version: &str) -> Probe {
    Probe {
        version: version.to_owned(),
        reason: None,
        kernel_reason: None,
    }
}

/// A folder other users can enter, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("atelier-lang-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, PermissionsExt::from_mode(0o755)).unwrap();
        Scratch(dir)
    }

    fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, PermissionsExt::from_mode(0o755)).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn names_come_from_config_then_labels_then_versions_and_stay_unique() {
    let candidates = [
        candidate(None, None, "/opt/python/3.12/bin/python3"),
        candidate(Some("3.12"), None, "/srv/py/bin/python3"),
        candidate(None, None, "/usr/bin/python3.11"),
        candidate(None, Some("conda:base"), "/opt/conda/bin/python"),
        candidate(None, None, "/opt/python/3.12b/bin/python3"),
        candidate(None, None, "/opt/python/broken/bin/python3"),
    ];
    let probes = [
        ran("3.12.1"),
        ran("3.12.4"),
        ran("3.11.2"),
        ran("3.11.5"),
        ran("3.12.9"),
        Probe::failed("does not exist"),
    ];
    let names = assign_names(&candidates, &probes);
    assert_eq!(
        names,
        ["3.12-2", "3.12", "3.11", "conda:base", "3.12-3", "broken"]
    );
}

#[test]
fn versions_order_numerically() {
    assert_eq!(major_minor("3.12.1").as_deref(), Some("3.12"));
    assert_eq!(major_minor("4.2.2").as_deref(), Some("4.2"));
    assert_eq!(major_minor(""), None);
    assert!(version_key("3.12.1") > version_key("3.9.18"));
    assert!(version_key("3.10.0") > version_key("3.9.18"));
}

#[test]
fn default_python_is_the_newest_with_a_kernel() {
    let mut no_kernel = interpreter(
        Language::Python,
        "3.13",
        "/opt/python/3.13/bin/python3",
        "3.13.0",
    );
    no_kernel.jupyter = false;
    let languages = Languages::from_interpreters(
        vec![
            interpreter(Language::Python, "3.10", "/a/bin/python3", "3.10.13"),
            no_kernel,
            interpreter(Language::Python, "3.12", "/b/bin/python3", "3.12.1"),
            interpreter(Language::Python, "3.12-2", "/c/bin/python3", "3.12.1"),
        ],
        vec![interpreter(Language::R, "4.2", "/usr/bin/R", "4.2.2")],
    );
    assert_eq!(languages.default_python().unwrap().name, "3.12");
    assert_eq!(languages.default_r().unwrap().name, "4.2");
    assert!(languages.find(Language::R, "4.2").is_some());
    assert!(languages.find(Language::Python, "4.2").is_none());
}

#[test]
fn session_env_puts_the_chosen_versions_first() {
    let python = interpreter(
        Language::Python,
        "3.12",
        "/opt/python/3.12/bin/python3",
        "3.12.1",
    );
    let r = interpreter(Language::R, "4.2", "/usr/bin/R", "4.2.2");
    let env = session_env(Some(&python), Some(&r));
    assert_eq!(
        env,
        [
            (
                "PATH".into(),
                "/opt/python/3.12/bin:/usr/bin:/usr/local/bin:/bin".into()
            ),
            ("RSTUDIO_WHICH_R".into(), "/usr/bin/R".into()),
            ("JUPYTER_PATH".into(), "{dir}/jupyter".into()),
        ]
    );
    let mut plain = python.clone();
    plain.jupyter = false;
    let env = session_env(Some(&plain), None);
    assert_eq!(env.len(), 1, "no kernels, no JUPYTER_PATH: {env:?}");
    assert_eq!(session_env(None, None)[0].1, "/usr/local/bin:/usr/bin:/bin");
}

#[test]
fn kernelspecs_name_each_kernel_and_the_default() {
    let python = interpreter(
        Language::Python,
        "conda:Analysis",
        "/opt/conda/envs/a/bin/python",
        "3.11.5",
    );
    let r = interpreter(Language::R, "4.2", "/usr/bin/R", "4.2.2");
    assert_eq!(kernel_name(&python), "python-conda-analysis");
    let (files, default) = kernelspecs(Some(&python), Some(&r));
    assert_eq!(default.as_deref(), Some("python-conda-analysis"));
    assert_eq!(
        files
            .iter()
            .map(|(path, _)| path.clone())
            .collect::<Vec<_>>(),
        [
            Path::new("jupyter/kernels/python-conda-analysis/kernel.json"),
            Path::new("jupyter/kernels/r-4.2/kernel.json"),
        ]
    );
    let spec: serde_json::Value = serde_json::from_str(&files[1].1).unwrap();
    assert_eq!(
        spec["argv"],
        serde_json::json!([
            "/usr/bin/R",
            "--slave",
            "-e",
            "IRkernel::main()",
            "--args",
            "{connection_file}"
        ])
    );
    let spec: serde_json::Value = serde_json::from_str(&files[0].1).unwrap();
    assert_eq!(spec["display_name"], "Python conda:Analysis (3.11)");
    assert_eq!(
        jupyter_args(Some(&python), Some(&r)),
        [
            "--MappingKernelManager.default_kernel_name=python-conda-analysis",
            "--KernelSpecManager.ensure_native_kernel=False",
            "--KernelSpecManager.allowed_kernelspecs=python-conda-analysis",
            "--KernelSpecManager.allowed_kernelspecs=r-4.2",
        ]
    );
    let (files, default) = kernelspecs(None, Some(&r));
    assert_eq!((files.len(), default.as_deref()), (1, Some("r-4.2")));
    let mut plain = r.clone();
    plain.available = false;
    assert_eq!(kernelspecs(None, Some(&plain)), (Vec::new(), None));
    assert!(jupyter_args(None, Some(&plain)).is_empty());
}

#[test]
fn a_hanging_interpreter_is_killed_at_the_timeout() {
    let scratch = Scratch::new("hang");
    let hang = scratch.script("python3", "sleep 30");
    let started = Instant::now();
    let probe = probe(Language::Python, &hang, Duration::from_millis(500));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(probe.reason.unwrap().contains("did not answer within"));
}

#[test]
fn a_descendant_holding_the_output_open_does_not_block_discovery() {
    let scratch = Scratch::new("daemon");
    let python = scratch.script("python3", "(sleep 30 &)\necho 3.1.0\necho kernel ok");
    let started = Instant::now();
    let probe = probe(Language::Python, &python, Duration::from_millis(500));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(probe, ran("3.1.0"));
}

#[test]
fn probe_reports_why_an_interpreter_or_its_kernel_is_unusable() {
    let scratch = Scratch::new("reasons");
    let second = Duration::from_secs(5);
    let not_python = scratch.script("python3", "echo hello");
    let reason = probe(Language::Python, &not_python, second).reason.unwrap();
    assert!(
        reason.ends_with("does not look like Python: it printed no version"),
        "{reason}"
    );

    let failing = scratch.script("R", "echo 'fatal: no R_HOME' >&2; exit 3");
    let reason = probe(Language::R, &failing, second).reason.unwrap();
    assert!(
        reason.ends_with("failed (exit status 3): fatal: no R_HOME"),
        "{reason}"
    );

    let no_kernel = scratch.script(
        "python3.9",
        "echo 3.9.18; echo \"kernel ModuleNotFoundError: No module named 'ipykernel'\"",
    );
    let probe_result = probe(Language::Python, &no_kernel, second);
    assert_eq!(probe_result.version, "3.9.18");
    assert_eq!(probe_result.reason, None);
    assert_eq!(
        probe_result.kernel_reason.as_deref(),
        Some("ipykernel is not installed for this Python")
    );

    let relative = probe(Language::Python, Path::new("bin/python3"), second);
    assert!(relative
        .reason
        .unwrap()
        .ends_with("is not an absolute path"));
}
