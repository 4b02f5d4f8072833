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
        program: PathBuf::from("/bin/sh"),
        args: vec!["-c".to_owned(), "exit 7".to_owned()],
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
        program: PathBuf::from("/nonexistent/ide"),
        args: vec![],
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
        program: PathBuf::from("/bin/true"),
        args: vec![],
    };
    assert_eq!(run(args), 1);
}
