//! What a session gets from the versions its user picked: its environment,
//! the Jupyter kernelspecs written into its folder, and the Jupyter options
//! that offer exactly those kernels.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::{Interpreter, Language};

/// The `PATH` tail every session gets after the interpreters' folders.
const BASE_PATH: &[&str] = &["/usr/local/bin", "/usr/bin", "/bin"];

/// Where the kernelspecs go, relative to the session folder; `JUPYTER_PATH`
/// points here (`{dir}` is the session folder, filled in by the backend).
const JUPYTER_DIR: &str = "jupyter";

/// The session's environment for the chosen versions: `PATH` (the
/// interpreters' `bin` folders first, then `/usr/local/bin:/usr/bin:/bin`),
/// `RSTUDIO_WHICH_R` with R, and `JUPYTER_PATH={dir}/jupyter` when
/// [`kernelspecs`] writes any kernel (the backend replaces `{dir}` with the
/// session folder).
pub fn session_env(python: Option<&Interpreter>, r: Option<&Interpreter>) -> Vec<(String, String)> {
    let mut dirs: Vec<String> = Vec::new();
    let chosen = python.into_iter().chain(r);
    let bins = chosen.filter_map(|i| i.path.parent().map(|p| p.display().to_string()));
    for dir in bins.chain(BASE_PATH.iter().map(|d| (*d).to_owned())) {
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    let mut env = vec![("PATH".to_owned(), dirs.join(":"))];
    if let Some(r) = r {
        env.push(("RSTUDIO_WHICH_R".to_owned(), r.path.display().to_string()));
    }
    if python.into_iter().chain(r).any(Interpreter::has_kernel) {
        env.push(("JUPYTER_PATH".to_owned(), format!("{{dir}}/{JUPYTER_DIR}")));
    }
    env
}

/// The kernelspec files to write into the session folder (paths relative to
/// it, e.g. `jupyter/kernels/python-3.12/kernel.json`) for each chosen
/// interpreter with a Jupyter kernel, and the kernel Jupyter should open by
/// default (Python's if it has one, else R's).
pub fn kernelspecs(
    python: Option<&Interpreter>,
    r: Option<&Interpreter>,
) -> (Vec<(PathBuf, String)>, Option<String>) {
    let with_kernel: Vec<&Interpreter> = python
        .into_iter()
        .chain(r)
        .filter(|i| i.has_kernel())
        .collect();
    let files = with_kernel
        .iter()
        .map(|interpreter| {
            let path = Path::new(JUPYTER_DIR)
                .join("kernels")
                .join(kernel_name(interpreter))
                .join("kernel.json");
            (path, kernel_json(interpreter))
        })
        .collect();
    let default = with_kernel.first().map(|i| kernel_name(i));
    (files, default)
}

/// Jupyter server options that offer only the kernels of [`kernelspecs`]
/// and open the default one: `--MappingKernelManager.default_kernel_name`,
/// `--KernelSpecManager.ensure_native_kernel=False`, and one
/// `--KernelSpecManager.allowed_kernelspecs` per kernel (without it, the
/// kernels installed beside Jupyter and Debian's `ir` are offered too).
/// Empty when no chosen interpreter has a kernel: Jupyter keeps its own.
pub fn jupyter_args(python: Option<&Interpreter>, r: Option<&Interpreter>) -> Vec<String> {
    let (_, default) = kernelspecs(python, r);
    let Some(default) = default else {
        return Vec::new();
    };
    let mut args = vec![
        format!("--MappingKernelManager.default_kernel_name={default}"),
        "--KernelSpecManager.ensure_native_kernel=False".to_owned(),
    ];
    let names = python
        .into_iter()
        .chain(r)
        .filter(|i| i.has_kernel())
        .map(kernel_name);
    args.extend(names.map(|name| format!("--KernelSpecManager.allowed_kernelspecs={name}")));
    args
}

/// `python-3.12`, `r-4.2`, `python-conda-analysis`: Jupyter allows only
/// letters, digits, `.`, `_` and `-` in kernel names.
pub(super) fn kernel_name(interpreter: &Interpreter) -> String {
    let name: String = interpreter
        .name
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '.' | '_' | '-') => c,
            _ => '-',
        })
        .collect();
    format!("{}-{name}", interpreter.language.as_str())
}

fn kernel_json(interpreter: &Interpreter) -> String {
    let exe = interpreter.path.display().to_string();
    let spec = match interpreter.language {
        Language::Python => json!({
            "argv": [exe, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": display_name(interpreter),
            "language": "python",
            "metadata": { "debugger": true },
        }),
        Language::R => json!({
            "argv": [exe, "--slave", "-e", "IRkernel::main()", "--args", "{connection_file}"],
            "display_name": display_name(interpreter),
            "language": "R",
        }),
    };
    // A `Value` always serialises.
    serde_json::to_string_pretty(&spec).unwrap_or_default()
}

/// `Python 3.12`, or `Python analysis (3.12)` when the name is not the version.
fn display_name(interpreter: &Interpreter) -> String {
    let label = interpreter.language.label();
    match interpreter.major_minor() {
        Some(version) if version != interpreter.name => {
            format!("{label} {} ({version})", interpreter.name)
        }
        _ => format!("{label} {}", interpreter.name),
    }
}
