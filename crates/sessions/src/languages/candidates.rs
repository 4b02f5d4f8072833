//! Where interpreters are looked for: the configured entries, then the
//! discovery roots, conda installations and Debian's own interpreters.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use atelier_config::{Config, InterpreterConfig};

/// Default `[languages] python_roots`.
const PYTHON_ROOTS: &[&str] = &["/opt/python"];
/// Default `[languages] r_roots`.
const R_ROOTS: &[&str] = &["/opt/R"];
/// Default `[languages] conda_roots`.
const CONDA_ROOTS: &[&str] = &["/opt/conda"];
/// Where Debian puts its `python3.N` and `R`.
const SYSTEM_BIN: &str = "/usr/bin";

/// One interpreter to probe.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    /// The configured name, if any.
    pub(super) name: Option<String>,
    /// A name that does not come from the version (`conda:<env>`).
    pub(super) label: Option<String>,
    /// The executable as configured or found.
    pub(super) path: PathBuf,
}

/// Python and R candidates in display order, each real path once.
pub(super) fn collect(config: &Config) -> (Vec<Candidate>, Vec<Candidate>) {
    let mut python = configured(&config.python);
    let mut r = configured(&config.r);
    let languages = &config.languages;
    if languages.discover != Some(false) {
        for root in roots(languages.python_roots.as_deref(), PYTHON_ROOTS) {
            python.extend(in_subfolders(&root, "bin/python3"));
        }
        python.extend(system_pythons(Path::new(SYSTEM_BIN)));
        for root in roots(languages.conda_roots.as_deref(), CONDA_ROOTS) {
            python.extend(conda(&root));
        }
        for root in roots(languages.r_roots.as_deref(), R_ROOTS) {
            r.extend(in_subfolders(&root, "bin/R"));
        }
        let debian_r = Path::new(SYSTEM_BIN).join("R");
        if debian_r.exists() {
            r.push(found(debian_r, None));
        }
    }
    (unique(python), unique(r))
}

/// A name for an interpreter whose version is unknown: `<x>` for
/// `…/<x>/bin/<exe>`, else the file name.
pub(super) fn fallback_name(path: &Path) -> String {
    let file = path.file_name().map(|f| f.to_string_lossy().into_owned());
    let parent = path.parent();
    if parent.and_then(Path::file_name).is_some_and(|p| p == "bin") {
        let folder = parent.and_then(Path::parent).and_then(Path::file_name);
        if let Some(folder) = folder.filter(|f| *f != "usr" && *f != "local") {
            return folder.to_string_lossy().into_owned();
        }
    }
    file.unwrap_or_else(|| path.display().to_string())
}

fn configured(entries: &[InterpreterConfig]) -> Vec<Candidate> {
    entries
        .iter()
        .map(|entry| Candidate {
            name: entry.name.clone(),
            label: None,
            path: entry.path.clone(),
        })
        .collect()
}

fn found(path: PathBuf, label: Option<String>) -> Candidate {
    Candidate {
        name: None,
        label,
        path,
    }
}

fn roots(configured: Option<&[PathBuf]>, defaults: &[&str]) -> Vec<PathBuf> {
    configured.map_or_else(
        || defaults.iter().map(PathBuf::from).collect(),
        <[PathBuf]>::to_vec,
    )
}

/// `<root>/*/<exe>` that exist, by folder name.
fn in_subfolders(root: &Path, exe: &str) -> Vec<Candidate> {
    sorted_entries(root)
        .into_iter()
        .map(|folder| folder.join(exe))
        .filter(|path| path.exists())
        .map(|path| found(path, None))
        .collect()
}

/// Debian's `python3.N`, newest first (`python3.11-config` and the like are not interpreters).
fn system_pythons(bin: &Path) -> Vec<Candidate> {
    let mut versions: Vec<(u32, PathBuf)> = sorted_entries(bin)
        .into_iter()
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?;
            let minor = name.strip_prefix("python3.")?.parse().ok()?;
            Some((minor, path))
        })
        .collect();
    versions.sort_by_key(|(minor, _)| std::cmp::Reverse(*minor));
    versions
        .into_iter()
        .map(|(_, path)| found(path, None))
        .collect()
}

/// A conda installation: its base (`conda:base`) and each `envs/<name>` (`conda:<name>`).
fn conda(root: &Path) -> Vec<Candidate> {
    let mut list = Vec::new();
    let base = root.join("bin/python");
    if base.exists() {
        list.push(found(base, Some("conda:base".to_owned())));
    }
    for env in sorted_entries(&root.join("envs")) {
        let python = env.join("bin/python");
        let Some(name) = env.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        if python.exists() {
            list.push(found(python, Some(format!("conda:{name}"))));
        }
    }
    list
}

fn sorted_entries(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
    paths.sort();
    paths
}

/// Drops candidates whose real path was already listed.
fn unique(candidates: Vec<Candidate>) -> Vec<Candidate> {
    let mut seen = HashSet::new();
    candidates
        .into_iter()
        .filter(|candidate| {
            let real = fs::canonicalize(&candidate.path).unwrap_or_else(|_| candidate.path.clone());
            seen.insert(real)
        })
        .collect()
}
