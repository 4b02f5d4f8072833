//! Python and R versions with the real interpreters installed by
//! `scripts/install-languages.sh`: discovery, configuration, and kernelspecs
//! that real Jupyter lists and runs code in, as a real (non-root) user.
//! Runs as root (it creates a user), like the rest of `scripts/test.sh`.

#[path = "languages/jupyter.rs"]
mod jupyter;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use atelier_config::Config;
use atelier_sessions::languages::{
    jupyter_args, kernelspecs, session_env, Interpreter, Language, Languages,
};
use jupyter::{chown_tree, kernels_offered_by_jupyter_server, run_in_kernel, TestUser, JUPYTER};

const INSTALL: &str = "run scripts/install-languages.sh (as root) first";

/// The Python copied to /opt/python by the install script (3.12 on machines whose pyenv has it).
fn installed_python() -> PathBuf {
    let found = std::fs::read_dir("/opt/python")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .find(|dir| dir.join(".atelier-complete").is_file());
    let dir = found.unwrap_or_else(|| panic!("no Python under /opt/python: {INSTALL}"));
    dir.join("bin/python3")
}

fn debian_r() -> PathBuf {
    let r = PathBuf::from("/usr/bin/R");
    assert!(r.is_file(), "Debian's R is missing: {INSTALL}");
    r
}

fn config(text: &str) -> Config {
    Config::parse("test.toml", text).unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The version as the interpreter itself prints it, read independently of the probe.
fn version_of(path: &Path, language: Language) -> String {
    let output = match language {
        Language::Python => Command::new(path)
            .args(["-c", "import platform; print(platform.python_version())"])
            .output(),
        Language::R => Command::new(path).arg("--version").output(),
    };
    let text = stdout(&output.unwrap());
    match language {
        Language::Python => text.trim().to_owned(),
        // "R version 4.2.2 Patched (2022-11-10 r83330) -- …"
        Language::R => text.split_whitespace().nth(2).unwrap().to_owned(),
    }
}

fn only<'a>(list: &'a [Interpreter], path: &Path) -> &'a Interpreter {
    let found: Vec<_> = list.iter().filter(|i| i.path == path).collect();
    assert_eq!(found.len(), 1, "{} once in {list:#?}", path.display());
    found[0]
}

#[test]
fn discovery_finds_the_installed_versions_and_reads_them_from_the_interpreters() {
    let python = installed_python();
    let languages = Languages::discover(&config(""));

    let copied = only(languages.python(), &python);
    let version = version_of(&python, Language::Python);
    assert_eq!(copied.version, version);
    assert_eq!(Some(copied.name.clone()), copied.major_minor());
    assert!(copied.available && copied.jupyter, "{copied:#?}");

    let debian = only(languages.python(), Path::new("/usr/bin/python3.11"));
    assert_eq!(debian.version, version_of(&debian.path, Language::Python));
    assert_eq!(debian.name, "3.11");
    assert!(debian.available, "{debian:#?}");
    let importable = Command::new("runuser")
        .args([
            "-u",
            "nobody",
            "--",
            "/usr/bin/python3.11",
            "-s",
            "-c",
            "import ipykernel",
        ])
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert_eq!(debian.jupyter, importable, "{debian:#?}");
    if !importable {
        assert_eq!(
            debian.jupyter_reason.as_deref(),
            Some("ipykernel is not installed for this Python")
        );
    }

    let r = only(languages.r(), &debian_r());
    assert_eq!(r.version, version_of(&r.path, Language::R));
    assert_eq!(r.name, r.major_minor().unwrap());
    assert!(r.available && r.jupyter, "{r:#?}");
    assert_eq!(languages.find(Language::R, &r.name), Some(r));

    let newest = languages.default_python().unwrap();
    assert!(newest.jupyter && newest.available);
    assert_eq!(languages.find(Language::Python, &copied.name), Some(copied));
    let json = serde_json::to_value(copied).unwrap();
    assert_eq!(json["language"], "python");
}

#[test]
fn a_configured_name_wins_and_each_real_path_is_listed_once() {
    let python = installed_python();
    let languages = Languages::discover(&config(&format!(
        "[[python]]\nname = \"analysis\"\npath = \"{}\"\n\n\
         [[python]]\npath = \"/usr/bin/python3\"\n\n\
         [[r]]\nname = \"stats\"\npath = \"/usr/bin/R\"\n",
        python.display()
    )));
    let first = &languages.python()[0];
    assert_eq!((first.name.as_str(), &first.path), ("analysis", &python));
    assert!(first.available && first.jupyter, "{first:#?}");
    assert_eq!(first.version, version_of(&python, Language::Python));
    assert_eq!(only(languages.python(), &python).name, "analysis");
    // /usr/bin/python3 is python3.11: listed once, as configured, named by its version.
    let second = &languages.python()[1];
    let debian = Path::new("/usr/bin/python3");
    assert_eq!(
        (second.name.as_str(), second.path.as_path()),
        ("3.11", debian)
    );
    let paths: Vec<&Path> = languages
        .python()
        .iter()
        .map(|i| i.path.as_path())
        .collect();
    assert!(
        !paths.contains(&Path::new("/usr/bin/python3.11")),
        "{paths:?}"
    );
    assert_eq!(languages.r().len(), 1, "{:#?}", languages.r());
    let stats = languages.find(Language::R, "stats").unwrap();
    assert_eq!(stats.path, debian_r());
}

#[test]
fn interpreters_users_cannot_run_are_listed_unavailable_with_the_reason() {
    let pyenv = std::fs::read_dir("/root/.pyenv/versions")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin/python3"))
        .find(|path| path.is_file());
    // A file users may read but not execute.
    let scratch = std::env::temp_dir().join(format!("atelier-languages-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let plain = scratch.join("python3");
    std::fs::write(&plain, "#!/bin/sh\necho 3.12.0\n").unwrap();
    std::fs::set_permissions(&plain, PermissionsExt::from_mode(0o644)).unwrap();
    let mut text = format!(
        "[languages]\ndiscover = false\n\n\
         [[python]]\nname = \"plain\"\npath = \"{}\"\n\n\
         [[python]]\npath = \"/nonexistent/python3\"\n\n\
         [[r]]\nname = \"shell\"\npath = \"/bin/sh\"\n",
        plain.display()
    );
    if let Some(pyenv) = &pyenv {
        text.push_str(&format!(
            "\n[[python]]\nname = \"root-only\"\npath = \"{}\"\n",
            pyenv.display()
        ));
    }
    let languages = Languages::discover(&config(&text));
    std::fs::remove_dir_all(&scratch).unwrap();

    let entry = languages.find(Language::Python, "plain").unwrap();
    assert!(!entry.available && !entry.jupyter, "{entry:#?}");
    let reason = format!(
        "{} is not executable by other users (mode 644)",
        plain.display()
    );
    assert_eq!(entry.reason, Some(reason));
    let missing = languages.find(Language::Python, "python3").unwrap();
    assert_eq!(
        missing.reason.as_deref(),
        Some("/nonexistent/python3 does not exist")
    );
    assert_eq!(missing.version, "");
    let shell = languages.find(Language::R, "shell").unwrap();
    assert!(!shell.available, "{shell:#?}");
    assert!(
        shell
            .reason
            .as_deref()
            .unwrap()
            .starts_with("/bin/sh failed"),
        "{shell:#?}"
    );
    if let Some(pyenv) = pyenv {
        // Root can run it; users cannot (/root is 0700).
        assert!(Command::new(&pyenv).arg("-V").status().unwrap().success());
        let root_only = languages.find(Language::Python, "root-only").unwrap();
        assert!(!root_only.available, "{root_only:#?}");
        assert_eq!(
            root_only.reason.as_deref(),
            Some("/root is not open to other users (mode 700)")
        );
        assert_eq!(root_only.path, pyenv);
    }
}

#[test]
fn without_discovery_only_configured_entries_are_listed() {
    let languages = Languages::discover(&config(
        "[languages]\ndiscover = false\n\n[[r]]\npath = \"/usr/bin/R\"\n",
    ));
    assert!(languages.python().is_empty(), "{:#?}", languages.python());
    assert_eq!(languages.r().len(), 1);
    assert!(languages.r()[0].jupyter);
    assert!(languages.default_python().is_none());

    let languages = Languages::discover(&config(
        "[languages]\npython_roots = []\nconda_roots = []\nr_roots = []\n",
    ));
    assert!(languages
        .python()
        .iter()
        .all(|i| !i.path.starts_with("/opt/python")));
}

#[test]
fn kernelspecs_run_code_in_the_chosen_versions_as_a_user() {
    assert!(
        Path::new(JUPYTER).is_file(),
        "Jupyter is missing: run scripts/install-ides.sh"
    );
    let languages = Languages::discover(&config(&format!(
        "[languages]\ndiscover = false\n[[python]]\npath = \"{}\"\n[[r]]\npath = \"/usr/bin/R\"\n",
        installed_python().display()
    )));
    let (python, r) = (&languages.python()[0], &languages.r()[0]);
    let user = TestUser::create();
    let dir = user.home.join("session");
    let (files, default) = kernelspecs(Some(python), Some(r));
    for (relative, text) in &files {
        let path = dir.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let uid = atelier_os::Account::lookup(&user.name).unwrap().unwrap();
    chown_tree(&dir, uid.uid, uid.gid);
    let env: Vec<(String, String)> = session_env(Some(python), Some(r))
        .into_iter()
        .map(|(key, value)| (key, value.replace("{dir}", &dir.display().to_string())))
        .collect();

    let listed = user
        .command(&env, JUPYTER)
        .args(["kernelspec", "list"])
        .output()
        .unwrap();
    let listed = stdout(&listed);
    let python_kernel = format!("python-{}", python.name);
    let r_kernel = format!("r-{}", r.name);
    for kernel in [&python_kernel, &r_kernel] {
        let line = listed
            .lines()
            .find(|l| l.split_whitespace().next() == Some(kernel));
        let line = line.unwrap_or_else(|| panic!("{kernel} not in {listed}"));
        assert!(line.contains(&dir.display().to_string()), "{line}");
    }
    assert_eq!(default.as_deref(), Some(python_kernel.as_str()));

    std::fs::write(
        user.home.join("check.py"),
        "import sys\nprint('version', sys.version)\n",
    )
    .unwrap();
    std::fs::write(
        user.home.join("check.R"),
        "cat('version', R.version.string, '\\n')\n",
    )
    .unwrap();
    let ran = run_in_kernel(&user, &env, &python_kernel, "check.py");
    assert!(
        ran.contains(&format!("version {} ", python.version)),
        "{ran}"
    );
    let ran = run_in_kernel(&user, &env, &r_kernel, "check.R");
    assert!(
        ran.contains(&format!("version R version {} ", r.version)),
        "{ran}"
    );

    let offered =
        kernels_offered_by_jupyter_server(&user, &env, &jupyter_args(Some(python), Some(r)));
    assert_eq!(
        offered,
        (python_kernel.clone(), vec![python_kernel, r_kernel])
    );
}
