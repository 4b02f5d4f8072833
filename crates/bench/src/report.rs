//! The results of one run: the JSON record, the printed table and the SVG.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::stats::Summary;

/// Everything one `atelier-bench run` measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Report {
    /// When the run started (UTC, RFC 3339).
    pub(crate) started: String,
    /// Whether this was the short (CI) run.
    pub(crate) short: bool,
    /// CPUs the machine has: every contender and the load share them.
    pub(crate) cpus: usize,
    /// The cases, in the order they ran.
    pub(crate) cases: Vec<Case>,
}

/// One case of the benchmark (one numbered item of the issue).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Case {
    /// Short name, e.g. `http`.
    pub(crate) name: String,
    /// What it measures.
    pub(crate) title: String,
    /// The error that stopped it, if any (its rows so far are kept).
    pub(crate) error: Option<String>,
    /// Measurements.
    pub(crate) rows: Vec<Row>,
    /// The targets, checked against this run's figures.
    pub(crate) checks: Vec<Check>,
    /// What the reader must know to read the figures honestly.
    pub(crate) notes: Vec<String>,
}

/// One measurement of one contender.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Row {
    /// What was measured, e.g. `1 KB, 64 conn, closed`.
    pub(crate) group: String,
    /// Who: `direct`, `atelier`, `nginx`, `chp`, `jupyterhub`, …
    pub(crate) contender: String,
    /// Load figures (rate and latencies), for load measurements.
    pub(crate) load: Option<Summary>,
    /// A single figure (memory, start time), for other measurements.
    pub(crate) value: Option<f64>,
    /// The unit of `value`.
    pub(crate) unit: Option<String>,
}

impl Row {
    /// A load measurement.
    pub(crate) fn load(group: &str, contender: &str, summary: Summary) -> Row {
        Row {
            group: group.to_owned(),
            contender: contender.to_owned(),
            load: Some(summary),
            value: None,
            unit: None,
        }
    }

    /// A single figure.
    pub(crate) fn value(group: &str, contender: &str, value: f64, unit: &str) -> Row {
        Row {
            group: group.to_owned(),
            contender: contender.to_owned(),
            load: None,
            value: Some(value),
            unit: Some(unit.to_owned()),
        }
    }

    /// The figure a chart shows: the rate, or the value.
    fn figure(&self) -> (f64, String) {
        match (&self.load, self.value) {
            (Some(load), _) => (load.per_second, "per second".to_owned()),
            (None, Some(value)) => (value, self.unit.clone().unwrap_or_default()),
            (None, None) => (0.0, String::new()),
        }
    }
}

/// One of the targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Check {
    /// The target as the issue states it.
    pub(crate) target: String,
    /// What this run measured.
    pub(crate) measured: String,
    /// Whether the target was met.
    pub(crate) met: bool,
}

impl Case {
    /// A case that has not run yet.
    pub(crate) fn new(name: &str, title: &str) -> Case {
        Case {
            name: name.to_owned(),
            title: title.to_owned(),
            ..Case::default()
        }
    }

    /// The row of `contender` in `group`, if measured.
    pub(crate) fn find(&self, group: &str, contender: &str) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.group == group && r.contender == contender)
    }

    /// Ran to the end and measured something.
    pub(crate) fn produced_figures(&self) -> bool {
        self.error.is_none() && !self.rows.is_empty()
    }
}

impl Report {
    /// Writes `bench.json` and `bench.svg` into `dir` (created if needed).
    pub(crate) fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let json = serde_json::to_string_pretty(self)?;
        std::fs::write(dir.join("bench.json"), json + "\n")?;
        std::fs::write(dir.join("bench.svg"), svg(self))?;
        Ok(())
    }
}

/// The baseline a contender is compared with in its group: `direct` if
/// measured, else the group's first row. None for a group of one row (a
/// ratio to itself says nothing).
fn baseline<'a>(case: &'a Case, group: &str) -> Option<&'a Row> {
    let members = case.rows.iter().filter(|r| r.group == group).count();
    if members < 2 {
        return None;
    }
    case.find(group, "direct")
        .or_else(|| case.rows.iter().find(|r| r.group == group))
}

/// The table printed at the end of a run. The first two columns are as
/// wide as their longest entry, so long contender names keep the columns
/// aligned.
pub(crate) fn table(report: &Report) -> String {
    let rows = || report.cases.iter().flat_map(|c| c.rows.iter());
    let group_width = rows().map(|r| r.group.chars().count()).fold(11, usize::max);
    let who_width = rows()
        .map(|r| r.contender.chars().count())
        .fold(9, usize::max);
    let mut out = String::new();
    for case in &report.cases {
        let _ = writeln!(out, "\n## {} — {}", case.name, case.title);
        let _ = writeln!(
            out,
            "{:<group_width$} {:<who_width$} {:>13} {:>9} {:>9} {:>7} {:>8}",
            "measurement", "contender", "rate/value", "p50 us", "p99 us", "errors", "vs base"
        );
        for row in &case.rows {
            let _ = writeln!(out, "{}", table_line(case, row, group_width, who_width));
        }
        for check in &case.checks {
            let mark = if check.met { "met" } else { "MISSED" };
            let _ = writeln!(
                out,
                "  target: {} — {} [{mark}]",
                check.target, check.measured
            );
        }
        for note in &case.notes {
            let _ = writeln!(out, "  note: {note}");
        }
        if let Some(error) = &case.error {
            let _ = writeln!(out, "  FAILED: {error}");
        }
    }
    out
}

fn table_line(case: &Case, row: &Row, group_width: usize, who_width: usize) -> String {
    let ratio = baseline(case, &row.group)
        .map(|base| base.figure().0)
        .filter(|base| *base > 0.0)
        .map_or_else(
            || "-".to_owned(),
            |base| format!("{:.2}x", row.figure().0 / base),
        );
    let (figure, p50, p99, errors) = match (&row.load, row.value) {
        (Some(load), _) => (
            format!("{:.0} r/s", load.per_second),
            load.p50_us.to_string(),
            load.p99_us.to_string(),
            load.errors.to_string(),
        ),
        (None, value) => (
            format!(
                "{:.1} {}",
                value.unwrap_or(0.0),
                row.unit.as_deref().unwrap_or("")
            ),
            "-".to_owned(),
            "-".to_owned(),
            "-".to_owned(),
        ),
    };
    format!(
        "{:<group_width$} {:<who_width$} {figure:>13} {p50:>9} {p99:>9} {errors:>7} {ratio:>8}",
        row.group, row.contender
    )
}

/// Fill colours, one per contender in order of appearance.
const COLOURS: [&str; 8] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f",
];
const PANEL_HEIGHT: f64 = 260.0;
const PLOT_HEIGHT: f64 = 170.0;
const BAR: f64 = 12.0;
const GAP: f64 = 18.0;
const LEFT: f64 = 70.0;

/// Bar charts, one panel per case and unit: groups along the x axis, one
/// bar per contender, the figure (rate or value) on the y axis.
pub(crate) fn svg(report: &Report) -> String {
    let panels: Vec<(String, String, Vec<&Row>)> = report
        .cases
        .iter()
        .flat_map(|case| {
            let mut units: Vec<String> = Vec::new();
            for row in &case.rows {
                let unit = row.figure().1;
                if !units.contains(&unit) {
                    units.push(unit);
                }
            }
            units.into_iter().map(move |unit| {
                let rows = case.rows.iter().filter(|r| r.figure().1 == unit).collect();
                (format!("{} — {}", case.name, case.title), unit, rows)
            })
        })
        .collect();
    let mut contenders: Vec<&str> = Vec::new();
    for row in panels.iter().flat_map(|p| p.2.iter()) {
        if !contenders.contains(&row.contender.as_str()) {
            contenders.push(&row.contender);
        }
    }
    let width = panels
        .iter()
        .map(|(_, _, rows)| panel_width(rows))
        .fold(640.0, f64::max);
    let height = 40.0 + PANEL_HEIGHT * panels.len() as f64;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let mut x = LEFT;
    for (i, name) in contenders.iter().enumerate() {
        let _ = writeln!(
            out,
            "<rect x=\"{x:.0}\" y=\"10\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{:.0}\" y=\"19\">{}</text>",
            COLOURS[i % COLOURS.len()],
            x + 14.0,
            escape(name)
        );
        x += 24.0 + 7.0 * name.len() as f64;
    }
    for (index, (title, unit, rows)) in panels.iter().enumerate() {
        let top = 40.0 + PANEL_HEIGHT * index as f64;
        panel(&mut out, top, title, unit, rows, &contenders);
    }
    out.push_str("</svg>\n");
    out
}

fn groups<'a>(rows: &[&'a Row]) -> Vec<&'a str> {
    let mut groups: Vec<&str> = Vec::new();
    for row in rows {
        if !groups.contains(&row.group.as_str()) {
            groups.push(&row.group);
        }
    }
    groups
}

fn panel_width(rows: &[&Row]) -> f64 {
    let groups = groups(rows);
    let bars: usize = groups
        .iter()
        .map(|g| rows.iter().filter(|r| r.group == *g).count())
        .sum();
    LEFT + 20.0 + bars as f64 * BAR + groups.len() as f64 * GAP
}

fn panel(out: &mut String, top: f64, title: &str, unit: &str, rows: &[&Row], contenders: &[&str]) {
    let max = rows.iter().map(|r| r.figure().0).fold(0.0, f64::max);
    let scale = if max > 0.0 { PLOT_HEIGHT / max } else { 0.0 };
    let base = top + 20.0 + PLOT_HEIGHT;
    let _ = writeln!(
        out,
        "<text x=\"10\" y=\"{:.0}\" font-weight=\"bold\">{} ({})</text>",
        top + 12.0,
        escape(title),
        escape(unit)
    );
    let _ = writeln!(
        out,
        "<text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"end\">{}</text><line x1=\"{LEFT:.0}\" y1=\"{base:.0}\" x2=\"{:.0}\" y2=\"{base:.0}\" stroke=\"#333\"/>",
        LEFT - 4.0,
        base - PLOT_HEIGHT + 4.0,
        short_number(max),
        LEFT + panel_width(rows) - LEFT - 10.0
    );
    let mut x = LEFT + GAP / 2.0;
    for group in groups(rows) {
        let start = x;
        for row in rows.iter().filter(|r| r.group == group) {
            let colour_index = contenders
                .iter()
                .position(|c| *c == row.contender)
                .unwrap_or(0);
            let (figure, _) = row.figure();
            let height = figure * scale;
            let _ = writeln!(
                out,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.0}\" height=\"{height:.1}\" fill=\"{}\"><title>{} {}: {}</title></rect>",
                base - height,
                BAR - 2.0,
                COLOURS[colour_index % COLOURS.len()],
                escape(group),
                escape(&row.contender),
                short_number(figure)
            );
            x += BAR;
        }
        let _ = writeln!(
            out,
            "<text transform=\"translate({:.1},{:.0}) rotate(30)\" font-size=\"9\">{}</text>",
            start,
            base + 10.0,
            escape(group)
        );
        x += GAP;
    }
}

/// 1234567 → `1.2M`, 5300 → `5.3k`, 12.5 → `12.5`.
pub(crate) fn short_number(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if value >= 1e4 {
        format!("{:.0}k", value / 1e3)
    } else if value >= 1e3 {
        format!("{:.1}k", value / 1e3)
    } else {
        format!("{value:.1}")
    }
}

/// Escapes text for SVG (XML).
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests;
