//! The single-node Slurm cluster of `scripts/slurm-up.sh`, started once per
//! test binary when it is not running, and what the tests ask of it.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// `SLURM_CONF` of the test cluster, after making sure it runs.
pub fn conf() -> &'static PathBuf {
    static CONF: OnceLock<PathBuf> = OnceLock::new();
    CONF.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/slurm-up.sh");
        let output = Command::new("bash").arg(script).output().unwrap();
        assert!(
            output.status.success(),
            "scripts/slurm-up.sh failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("export SLURM_CONF="))
            .expect("slurm-up.sh prints export SLURM_CONF=…");
        PathBuf::from(line.trim())
    })
}

/// The `[[cluster]]` table of the test cluster, named `hpc`.
pub fn cluster_config() -> String {
    format!(
        "[[cluster]]\nname = \"hpc\"\nbackend = \"slurm\"\nslurm_conf = \"{}\"\npoll_secs = 0.5\n",
        conf().display()
    )
}

/// Runs a Slurm command as root with the test cluster's config.
pub fn run(program: &str, args: &[&str]) -> (bool, String) {
    let output = Command::new(program)
        .args(args)
        .env("SLURM_CONF", conf())
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// The job ids Slurm runs or queues whose name is `atelier-<id>`.
pub fn active_jobs(id: &str) -> Vec<u64> {
    let name = format!("atelier-{id}");
    let (ok, text) = run(
        "squeue",
        &["--noheader", "--format=%i %j %T", "--name", &name],
    );
    assert!(ok, "squeue failed: {text}");
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let job = fields.next()?.parse().ok()?;
            (fields.next()? == name).then_some(job)
        })
        .collect()
}
