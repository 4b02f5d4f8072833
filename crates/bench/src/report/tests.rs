use super::*;

fn summary(per_second: f64, p50_us: u64) -> Summary {
    Summary {
        requests: 100,
        errors: 0,
        seconds: 1.0,
        per_second,
        p50_us,
        p99_us: p50_us * 2,
        max_us: p50_us * 3,
    }
}

fn sample() -> Report {
    let mut http = Case::new("http", "HTTP <through> the proxy & others");
    http.rows
        .push(Row::load("1 KB, 64 conn", "direct", summary(1000.0, 100)));
    http.rows
        .push(Row::load("1 KB, 64 conn", "atelier", summary(800.0, 150)));
    http.checks.push(Check {
        target: "1 KB >= 70% of direct".into(),
        measured: "80%".into(),
        met: true,
    });
    let mut ws = Case::new("ws", "WebSocket");
    ws.rows
        .push(Row::value("10,000 idle", "atelier", 42.5, "MB"));
    Report {
        started: "2025-01-01T00:00:00Z".into(),
        short: true,
        cpus: 2,
        cases: vec![http, ws],
    }
}

#[test]
fn json_round_trips() {
    let report = sample();
    let text = serde_json::to_string(&report).unwrap();
    let back: Report = serde_json::from_str(&text).unwrap();
    assert_eq!(back.cases.len(), 2);
    assert_eq!(back.cases[0].rows, report.cases[0].rows);
    assert_eq!(back.cases[1].rows[0].value, Some(42.5));
}

#[test]
fn table_shows_ratios_to_direct_and_targets() {
    let table = table(&sample());
    let atelier = table
        .lines()
        .find(|l| l.contains("atelier") && l.contains("r/s"))
        .unwrap();
    assert!(atelier.contains("0.80x"), "{atelier}");
    assert!(atelier.contains("150"), "{atelier}");
    assert!(table.contains("[met]"));
    assert!(table.contains("42.5 MB"));
}

#[test]
fn svg_has_one_bar_per_row_and_escapes_text() {
    let svg = svg(&sample());
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<title>").count(), 3);
    assert!(svg.contains("HTTP &lt;through&gt; the proxy &amp; others"));
    assert!(!svg.contains("<through>"));
    // Two panels: the HTTP rates and the WebSocket memory.
    assert!(svg.contains("(per second)") && svg.contains("(MB)"));
}

#[test]
fn write_creates_both_files() {
    let dir = tempdir();
    let report = sample();
    report.write(&dir.join("run")).unwrap();
    let json = std::fs::read_to_string(dir.join("run/bench.json")).unwrap();
    assert!(json.contains("\"contender\": \"atelier\""));
    assert!(std::fs::read_to_string(dir.join("run/bench.svg"))
        .unwrap()
        .contains("<svg"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn numbers_are_shortened() {
    assert_eq!(short_number(1_234_567.0), "1.2M");
    assert_eq!(short_number(53_000.0), "53k");
    assert_eq!(short_number(5_300.0), "5.3k");
    assert_eq!(short_number(12.5), "12.5");
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("atelier-bench-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}
