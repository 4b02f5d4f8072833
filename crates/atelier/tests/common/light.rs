//! A session kind cheap enough to run by the thousand, and ways to look at
//! many sessions' processes and at the server's memory at once.

use std::collections::HashMap;

/// Config lines defining `light`: a Perl one-file HTTP server on the
/// session's socket (Perl is Essential on Debian, so it is always there).
/// It starts in a few milliseconds and holds about 5 MB, where a Python
/// web app takes ~100 ms of CPU and 15 MB: a thousand of them fit on a
/// small machine. Every request gets `200 ok` and the connection is closed.
pub fn light_kind() -> String {
    let script = r#"use IO::Socket::UNIX;
my $path = shift;
my $server = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => $path, Listen => 128)
    or die "light: cannot listen on $path: $!";
chmod 0600, $path;
$SIG{PIPE} = "IGNORE";
while (my $client = $server->accept) {
    while (my $line = <$client>) { last if $line =~ /^\r?\n$/; }
    print $client "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
    close $client;
}"#;
    format!(
        "\n[[kind]]\nname = \"light\"\nlabel = \"Light test app\"\ncommand = [\"/usr/bin/perl\", \"-e\", '''{script}''', \"{{socket}}\"]\nready_path = \"/\"\n"
    )
}

/// Every process that carries a session marker, by session id, from one
/// pass over `/proc` (calling `session_processes` per session would read
/// every process's environment once per session).
pub fn processes_by_session() -> HashMap<String, Vec<i32>> {
    let prefix = b"ATELIER_SESSION_ID=";
    let mut found: HashMap<String, Vec<i32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let marker = environ
            .split(|b| *b == 0)
            .find_map(|var| var.strip_prefix(prefix.as_slice()));
        if let Some(id) = marker {
            let id = String::from_utf8_lossy(id).into_owned();
            found.entry(id).or_default().push(pid);
        }
    }
    found
}

/// A process's resident memory in KiB (`VmRSS` in `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS for process {pid}"))
}

/// CPU time (user + system) a process has used so far, in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let tail = stat.rsplit_once(')').unwrap().1;
    let fields: Vec<&str> = tail.split_whitespace().collect();
    // After the command: 0 state … 11 utime, 12 stime (clock ticks).
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / CLOCK_TICKS_PER_SECOND
}

/// `sysconf(_SC_CLK_TCK)`, which is 100 on every Linux build for x86-64 and arm64.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// Percentiles (0–100) of a list of latencies, in milliseconds.
pub fn percentile_ms(sorted: &[std::time::Duration], percent: usize) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = (sorted.len() * percent / 100).min(sorted.len() - 1);
    sorted[index].as_secs_f64() * 1000.0
}
