//! Tests of the supervisor's argument parsing and of runs that need no signal.

use super::*;

fn argv(text: &str) -> Vec<String> {
    text.split(' ').map(str::to_owned).collect()
}

fn read_record(dir: &Path) -> ExitRecord {
    serde_json::from_slice(&std::fs::read(dir.join(EXIT_FILE)).unwrap()).unwrap()
}

#[test]
fn parses_the_session_run_command_line() {
    let args =
        SupervisorArgs::parse(&argv("--dir /d --grace-ms 1500 -- /bin/ide --a -- b")).unwrap();
    assert_eq!(args.dir, PathBuf::from("/d"));
    assert_eq!(args.grace, Duration::from_millis(1500));
    assert_eq!(args.program, PathBuf::from("/bin/ide"));
    assert_eq!(args.args, ["--a", "--", "b"]);
    assert_eq!(args.output, OutputMode::Log);
    let split = SupervisorArgs::parse(&argv("--split-output --dir /d --grace-ms 5 -- /bin/x"));
    assert_eq!(split.unwrap().output, OutputMode::Split);
    let split = SupervisorArgs::parse(&argv("--dir /d --grace-ms 5 --split-output -- /bin/x"));
    assert_eq!(split.unwrap().output, OutputMode::Split);
}

#[test]
fn rejects_incomplete_command_lines() {
    for bad in [
        "--dir /d --grace-ms 10 /bin/ide",
        "--dir /d --grace-ms 10 --",
        "--grace-ms 10 -- /bin/ide",
        "--dir /d -- /bin/ide",
        "--dir /d --grace-ms soon -- /bin/ide",
        "--dir /d --grace-ms 10 --colour red -- /bin/ide",
        "--dir -- /bin/ide",
    ] {
        assert!(
            SupervisorArgs::parse(&argv(bad)).is_err(),
            "{bad:?} was accepted"
        );
    }
}

#[test]
fn records_the_exit_code_of_an_ide_that_ends_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let args = SupervisorArgs {
        dir: dir.path().to_owned(),
        grace: Duration::from_millis(100),
        output: OutputMode::Log,
        program: PathBuf::from("/bin/sh"),
        args: vec!["-c".to_owned(), "exit 7".to_owned()],
        env_file: None,
        gate: false,
    };
    assert_eq!(run(args), 0);
    assert_eq!(
        read_record(dir.path()),
        ExitRecord {
            code: Some(7),
            signal: None
        }
    );
    assert!(!dir.path().join("exit.json.tmp").exists());
}

#[test]
fn records_127_when_the_ide_cannot_start() {
    let dir = tempfile::tempdir().unwrap();
    let args = SupervisorArgs {
        dir: dir.path().to_owned(),
        grace: Duration::from_millis(100),
        output: OutputMode::Log,
        program: PathBuf::from("/nonexistent/ide"),
        args: vec![],
        env_file: None,
        gate: false,
    };
    assert_eq!(run(args), 0);
    assert_eq!(
        read_record(dir.path()),
        ExitRecord {
            code: Some(127),
            signal: None
        }
    );
}

#[test]
fn fails_when_the_record_cannot_be_written() {
    let args = SupervisorArgs {
        dir: PathBuf::from("/nonexistent/session"),
        grace: Duration::from_millis(100),
        output: OutputMode::Log,
        program: PathBuf::from("/bin/true"),
        args: vec![],
        env_file: None,
        gate: false,
    };
    assert_eq!(run(args), 1);
}

fn split_run(dir: &Path, script: &str) -> i32 {
    run(SupervisorArgs {
        dir: dir.to_owned(),
        grace: Duration::from_millis(500),
        output: OutputMode::Split,
        program: PathBuf::from("/bin/sh"),
        args: vec!["-c".to_owned(), script.to_owned()],
        env_file: None,
        gate: false,
    })
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn split_output_goes_to_three_private_files_in_arrival_order() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let script = "for i in 1 2 3; do echo out$i; sleep 0.05; echo err$i >&2; sleep 0.05; done; \
                  readlink /proc/self/fd/0; exit 4";
    assert_eq!(split_run(dir.path(), script), 0);
    let path = dir.path();
    assert_eq!(read(path, "stdout.log"), "out1\nout2\nout3\n/dev/null\n");
    assert_eq!(read(path, "stderr.log"), "err1\nerr2\nerr3\n");
    assert_eq!(
        read(path, "output.log"),
        "out1\nerr1\nout2\nerr2\nout3\nerr3\n/dev/null\n"
    );
    for name in ["stdout.log", "stderr.log", "output.log"] {
        let mode = std::fs::metadata(path.join(name)).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
    assert_eq!(
        read_record(path),
        ExitRecord {
            code: Some(4),
            signal: None
        }
    );
}

#[test]
fn a_grandchild_holding_the_pipes_is_read_from_then_left_once_idle() {
    let dir = tempfile::tempdir().unwrap();
    let script = "(sleep 0.3; echo late; exec sleep 30) & echo pid $!";
    let started = std::time::Instant::now();
    assert_eq!(split_run(dir.path(), script), 0);
    let took = started.elapsed();
    let out = read(dir.path(), "stdout.log");
    let pid: i32 = out.lines().next().unwrap()[4..].parse().unwrap();
    let _ = kill(pid, Signal::Kill);
    assert_eq!(out.lines().nth(1), Some("late"), "{out}");
    assert!(
        took >= Duration::from_millis(1200),
        "left too early: {took:?}"
    );
    assert!(took < Duration::from_secs(2), "stayed too long: {took:?}");
    assert_eq!(read_record(dir.path()).code, Some(0));
}

#[test]
fn split_output_files_that_cannot_be_created_count_as_not_started() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/nonexistent", dir.path().join("stdout.log")).unwrap();
    assert_eq!(split_run(dir.path(), "echo never"), 0);
    assert_eq!(read_record(dir.path()).code, Some(NOT_STARTED));
    assert!(!dir.path().join("output.log").exists());
}
