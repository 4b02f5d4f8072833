//! Decoding `jobs` rows: the command is stored as a JSON array of strings
//! and the environment as a JSON object of strings; either one that does not
//! parse makes the row corrupt.

use std::collections::BTreeMap;

use atelier_core::{Job, JobId, JobState, UserName};
use serde::de::DeserializeOwned;

use super::{Cells, RawRow};
use crate::Result;

/// The columns of `jobs`, in the order [`job`] reads them.
macro_rules! job_columns {
    () => {
        "id, user_name, name, state, command, workdir, env, python, r, profile, cluster, \
         node, created_at, started_at, ended_at, exit_code, error, handle"
    };
}
pub(crate) use job_columns;

pub(super) const JOB_NAMES: [&str; 18] = [
    "id",
    "user_name",
    "name",
    "state",
    "command",
    "workdir",
    "env",
    "python",
    "r",
    "profile",
    "cluster",
    "node",
    "created_at",
    "started_at",
    "ended_at",
    "exit_code",
    "error",
    "handle",
];

/// A row of `job_columns!()`.
pub(crate) fn job(row: &dyn RawRow) -> Result<Job> {
    let cells = Cells::new(row, "jobs", &JOB_NAMES, 0);
    let command: Vec<String> = json(&cells, 4)?;
    let env: BTreeMap<String, String> = json(&cells, 6)?;
    let exit_code = match cells.opt_int(15)? {
        Some(code) => Some(i32::try_from(code).map_err(|_| cells.corrupt(15, "out of range"))?),
        None => None,
    };
    Ok(Job {
        id: cells.parse(0, JobId::parse)?,
        user: cells.parse(1, UserName::parse)?,
        name: cells.text(2)?,
        state: cells.parse(3, JobState::parse)?,
        command,
        workdir: cells.text(5)?,
        env,
        python: cells.opt_text(7)?,
        r: cells.opt_text(8)?,
        profile: cells.opt_text(9)?,
        cluster: cells.text(10)?,
        node: cells.opt_text(11)?,
        created_at: cells.time(12)?,
        started_at: cells.opt_time(13)?,
        ended_at: cells.opt_time(14)?,
        exit_code,
        error: cells.opt_text(16)?,
        handle: cells.opt_text(17)?,
    })
}

/// The JSON text cell at `idx`, decoded.
fn json<T: DeserializeOwned>(cells: &Cells<'_>, idx: usize) -> Result<T> {
    let text = cells.text(idx)?;
    serde_json::from_str(&text).map_err(|err| cells.corrupt(idx, format!("not valid JSON: {err}")))
}

/// `command` as stored: a JSON array of strings.
pub(crate) fn command_json(command: &[String]) -> String {
    serde_json::Value::from(command).to_string()
}

/// `env` as stored: a JSON object of strings.
pub(crate) fn env_json(env: &BTreeMap<String, String>) -> String {
    let object: serde_json::Map<String, serde_json::Value> = env
        .iter()
        .map(|(key, value)| (key.clone(), serde_json::Value::from(value.as_str())))
        .collect();
    serde_json::Value::Object(object).to_string()
}

/// `text` as a pattern for `LIKE`/`ILIKE … ESCAPE '\'` that matches any
/// value containing it literally: `\`, `%` and `_` are escaped.
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_list_matches_its_names() {
        assert_eq!(job_columns!(), JOB_NAMES.join(", "));
    }

    #[test]
    fn patterns_escape_wildcards() {
        assert_eq!(contains_pattern("abc"), "%abc%");
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
        assert_eq!(contains_pattern(""), "%%");
    }

    #[test]
    fn json_columns_round_trip() {
        let command = vec!["a b".to_owned(), "\"q\"".to_owned(), "ü".to_owned()];
        let back: Vec<String> = serde_json::from_str(&command_json(&command)).unwrap();
        assert_eq!(back, command);
        let env = BTreeMap::from([("K".to_owned(), "v 'x'".to_owned())]);
        let back: BTreeMap<String, String> = serde_json::from_str(&env_json(&env)).unwrap();
        assert_eq!(back, env);
    }
}
