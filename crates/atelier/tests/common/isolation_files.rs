//! The isolation suite's attacks as the other Linux user: alice's unix
//! sockets, folders, job output, database, users file and process
//! environment, all reached with `runuser -u bob`.

use std::process::Command;

use crate::isolation_world::{Ledger, World};

/// Runs `program args…` as bob; returns (success, stderr).
fn as_bob(w: &World, program: &str, args: &[&str]) -> (bool, String) {
    let output = Command::new("runuser")
        .args(["-u", &w.bob.name, "--", program])
        .args(args)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Bob, as a Linux user, on alice's sockets, folders, files and processes.
pub(crate) async fn file_system(w: &World, ledger: &mut Ledger) {
    let data = w.server.data_dir();
    let sessions = data.join("sessions");
    let connect = |id: &str| {
        let socket = sessions.join(id).join("ide.sock");
        format!(
            "import socket; s = socket.socket(socket.AF_UNIX); s.connect({:?})",
            socket.to_str().unwrap()
        )
    };
    let pid = crate::common::session_processes(&w.a_web)[0].0;
    let job_dir = sessions.join(&w.a_job);
    let paths = |names: &[&str]| -> Vec<String> {
        names
            .iter()
            .map(|n| job_dir.join(n).display().to_string())
            .collect()
    };
    let mut attempts: Vec<(String, Vec<String>)> = vec![
        (
            "/usr/bin/python3".into(),
            vec!["-c".into(), connect(&w.a_web)],
        ),
        (
            "/usr/bin/python3".into(),
            vec!["-c".into(), connect(&w.a_lab)],
        ),
        ("/bin/ls".into(), vec![sessions.display().to_string()]),
        (
            "/bin/ls".into(),
            vec![sessions.join(&w.a_web).display().to_string()],
        ),
        (
            "/bin/ls".into(),
            vec![sessions.join(&w.a_lab).display().to_string()],
        ),
        ("/bin/ls".into(), vec![data.display().to_string()]),
        (
            "/bin/cat".into(),
            vec![data.join("atelier.db").display().to_string()],
        ),
        (
            "/bin/cat".into(),
            vec![data.join("users").display().to_string()],
        ),
        ("/bin/cat".into(), vec![format!("/proc/{pid}/environ")]),
        (
            "/bin/cat".into(),
            vec![sessions
                .join(&w.a_web)
                .join("ide.log")
                .display()
                .to_string()],
        ),
    ];
    for name in [
        "stdout.log",
        "stderr.log",
        "output.log",
        "exit.json",
        "supervisor.log",
    ] {
        attempts.push(("/bin/cat".into(), paths(&[name])));
        let done = sessions.join(&w.a_done).join(name);
        attempts.push(("/bin/cat".into(), vec![done.display().to_string()]));
    }
    for (program, args) in &attempts {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, stderr) = as_bob(w, program, &args);
        ledger.attack(stderr.as_bytes());
        assert!(
            !ok && stderr.contains("Permission denied"),
            "bob ran {program} {args:?}: {stderr}"
        );
    }
    // Control: the same commands work for bob on his own session.
    let (ok, stderr) = as_bob(w, "/usr/bin/python3", &["-c", &connect(&w.b_web)]);
    assert!(ok, "bob cannot reach his own socket: {stderr}");
}
