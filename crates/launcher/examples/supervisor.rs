//! The session supervisor as a stand-alone program, with the same command line
//! as `atelier session-run`; the launcher's tests start sessions with it.
//!
//! ```text
//! cargo build -p atelier-launcher --example supervisor
//! target/debug/examples/supervisor session-run --dir D --grace-ms 5000 -- /bin/sleep 60
//! target/debug/examples/supervisor session-run --dir D --grace-ms 5000 --split-output -- /bin/ls
//! ```

use atelier_launcher::supervisor::{run, SupervisorArgs};

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match argv.split_first() {
        Some((mode, rest)) if mode == "session-run" => SupervisorArgs::parse(rest),
        _ => {
            eprintln!(
                "usage: supervisor session-run --dir D --grace-ms N [--split-output] -- PROGRAM [ARGS...]"
            );
            std::process::exit(2);
        }
    };
    match parsed {
        Ok(args) => std::process::exit(run(args)),
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(2);
        }
    }
}
