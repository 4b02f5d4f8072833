//! The Python and R versions sessions can use: found once at start-up from
//! the `[[python]]` and `[[r]]` entries and the `[languages]` discovery,
//! each interpreter run once to read its version and whether its Jupyter
//! kernel (ipykernel, IRkernel) loads.
//!
//! A session uses the version its user picks: [`session_env`] puts it first
//! on `PATH` (and sets `RSTUDIO_WHICH_R`), [`kernelspecs`] gives the Jupyter
//! kernels to write into the session folder, and [`jupyter_args`] the
//! options that make Jupyter offer only those kernels.
//!
//! Invariant: `available` means "runs for users": every folder on the way to
//! the interpreter must be open to others, and as root it is probed as
//! `nobody`, so one that only root can run (under `/root`, or linked against
//! a library there) is listed as unavailable, with the reason.

mod candidates;
mod kernels;
mod probe;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use atelier_config::Config;
use serde::Serialize;

pub use kernels::{jupyter_args, kernelspecs, session_env};

use candidates::Candidate;
use probe::Probe;

/// How long one interpreter may take to report its version.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// A language sessions can be given a version of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// CPython (`python3`), Jupyter kernel from ipykernel.
    Python,
    /// R, Jupyter kernel from IRkernel.
    R,
}

impl Language {
    /// The lower-case name used in kernel names and the API: `python`, `r`.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::R => "r",
        }
    }

    /// The name shown to people: `Python`, `R`.
    pub fn label(self) -> &'static str {
        match self {
            Language::Python => "Python",
            Language::R => "R",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One Python or R installation, as users pick it and `GET /api/v1/kinds`
/// shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Interpreter {
    /// What users pick, unique per language: `3.12`, `4.2`, `conda:analysis`,
    /// or the configured name.
    pub name: String,
    /// Python or R.
    pub language: Language,
    /// The interpreter executable (`…/bin/python3`, `…/bin/R`).
    #[schema(value_type = String)]
    pub path: PathBuf,
    /// Full version read from the interpreter, e.g. `3.12.1`, `4.2.2`; empty
    /// when it could not be run.
    pub version: String,
    /// Whether it runs for users (not only for root).
    pub available: bool,
    /// Why not, when unavailable.
    pub reason: Option<String>,
    /// Whether its Jupyter kernel loads (ipykernel for Python, IRkernel for R).
    pub jupyter: bool,
    /// Why not, when `jupyter` is false.
    pub jupyter_reason: Option<String>,
}

impl Interpreter {
    /// Whether a session can use it in Jupyter: available, with a kernel.
    pub fn has_kernel(&self) -> bool {
        self.available && self.jupyter
    }

    /// `major.minor` of the version, e.g. `3.12`; `None` if unknown.
    pub fn major_minor(&self) -> Option<String> {
        major_minor(&self.version)
    }
}

/// Every Python and R version of this server, in display order:
/// configured entries first, then discovered ones.
#[derive(Debug, Clone, Default)]
pub struct Languages {
    python: Vec<Interpreter>,
    r: Vec<Interpreter>,
}

impl Languages {
    /// Config entries first (`[[python]]`, `[[r]]`, with optional name), then
    /// discovery (unless `[languages] discover = false`):
    /// `python_roots/*/bin/python3`, `/usr/bin/python3.N`, `conda_roots`
    /// base and `envs/*`, `r_roots/*/bin/R`, `/usr/bin/R`. Each candidate is
    /// run once (clean environment, as `nobody` when root, 10 s timeout) to
    /// read its version and whether ipykernel or IRkernel loads; candidates
    /// with the same real path are listed once (the first wins); names come
    /// from `major.minor` when not configured, with `-2`, `-3`… added when
    /// two share one.
    pub fn discover(config: &Config) -> Languages {
        let (python, r) = candidates::collect(config);
        let python = resolve(Language::Python, python);
        let r = resolve(Language::R, r);
        for interpreter in python.iter().chain(&r) {
            tracing::info!(
                language = interpreter.language.as_str(),
                name = %interpreter.name,
                path = %interpreter.path.display(),
                version = %interpreter.version,
                available = interpreter.available,
                jupyter = interpreter.jupyter,
                "interpreter found"
            );
        }
        Languages { python, r }
    }

    /// A fixed list, for tests and callers that built interpreters themselves.
    pub fn from_interpreters(python: Vec<Interpreter>, r: Vec<Interpreter>) -> Languages {
        Languages { python, r }
    }

    /// The Python versions, available or not.
    pub fn python(&self) -> &[Interpreter] {
        &self.python
    }

    /// The R versions, available or not.
    pub fn r(&self) -> &[Interpreter] {
        &self.r
    }

    /// The interpreter of `language` called `name`, available or not.
    pub fn find(&self, language: Language, name: &str) -> Option<&Interpreter> {
        let list = match language {
            Language::Python => &self.python,
            Language::R => &self.r,
        };
        list.iter().find(|interpreter| interpreter.name == name)
    }

    /// The newest available Python with a Jupyter kernel (the first listed
    /// among equal versions).
    pub fn default_python(&self) -> Option<&Interpreter> {
        newest_with_kernel(&self.python)
    }

    /// The newest available R with a Jupyter kernel.
    pub fn default_r(&self) -> Option<&Interpreter> {
        newest_with_kernel(&self.r)
    }
}

fn newest_with_kernel(list: &[Interpreter]) -> Option<&Interpreter> {
    let mut best: Option<&Interpreter> = None;
    for interpreter in list.iter().filter(|i| i.has_kernel()) {
        if best.is_none_or(|b| version_key(&interpreter.version) > version_key(&b.version)) {
            best = Some(interpreter);
        }
    }
    best
}

/// Probes every candidate (in parallel: each takes up to a second) and names them.
fn resolve(language: Language, candidates: Vec<Candidate>) -> Vec<Interpreter> {
    let probes: Vec<Probe> = std::thread::scope(|scope| {
        let handles: Vec<_> = candidates
            .iter()
            .map(|c| scope.spawn(|| probe::probe(language, &c.path, PROBE_TIMEOUT)))
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Probe::failed("the probe panicked"))
            })
            .collect()
    });
    let names = assign_names(&candidates, &probes);
    candidates
        .into_iter()
        .zip(probes)
        .zip(names)
        .map(|((candidate, probe), name)| Interpreter {
            name,
            language,
            path: candidate.path,
            version: probe.version,
            available: probe.reason.is_none(),
            reason: probe.reason,
            jupyter: probe.kernel_reason.is_none(),
            jupyter_reason: probe.kernel_reason,
        })
        .collect()
}

/// Configured names first, then derived ones; a name already taken gets
/// `-2`, `-3`… so every name is unique.
fn assign_names(candidates: &[Candidate], probes: &[Probe]) -> Vec<String> {
    let mut taken = HashSet::new();
    let mut names = vec![String::new(); candidates.len()];
    let configured = candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.name.is_some());
    let derived = candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.name.is_none());
    for (index, candidate) in configured.chain(derived) {
        let wanted = candidate.name.clone().unwrap_or_else(|| {
            candidate
                .label
                .clone()
                .or_else(|| major_minor(&probes[index].version))
                .unwrap_or_else(|| candidates::fallback_name(&candidate.path))
        });
        let mut name = wanted.clone();
        let mut n = 2;
        while !taken.insert(name.clone()) {
            name = format!("{wanted}-{n}");
            n += 1;
        }
        if candidate.name.is_some() && name != wanted {
            tracing::warn!(name = %wanted, renamed = %name, "two interpreters share a configured name");
        }
        names[index] = name;
    }
    names
}

/// `3.12.1` → `3.12`; `None` without two numeric parts.
fn major_minor(version: &str) -> Option<String> {
    let mut parts = version.split('.');
    let major = parts.next().filter(|p| is_number(p))?;
    let minor = parts.next().filter(|p| is_number(p))?;
    Some(format!("{major}.{minor}"))
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Numeric parts of a version for ordering: `3.12.1` → `[3, 12, 1]`.
fn version_key(version: &str) -> Vec<u64> {
    version
        .split('.')
        .map_while(|part| part.parse().ok())
        .collect()
}
