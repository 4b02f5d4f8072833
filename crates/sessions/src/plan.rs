//! Turning a request into what a session will get: its name, resource
//! profile and Python and R versions, checked against what the user may use
//! and what this server has; then adding those choices to the IDE's command.

use std::path::PathBuf;

use atelier_core::{InvalidInput, NewSession, SessionKind, UserName};
use atelier_launcher::Limits;

use crate::ides::IdeCommand;
use crate::languages::{self, Interpreter, Language, Languages};
use crate::profiles::{Profile, Profiles};

/// The resolved choices of one new session.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Display name.
    pub(crate) name: String,
    /// Resource profile, if profiles are configured.
    pub(crate) profile: Option<Profile>,
    /// Python version.
    pub(crate) python: Option<Interpreter>,
    /// R version.
    pub(crate) r: Option<Interpreter>,
}

impl Plan {
    /// Resolves `request` for `user`. Jupyter kinds need versions with a
    /// kernel; when none is asked for, the newest such version is used.
    pub(crate) fn resolve(
        request: &NewSession,
        user: &UserName,
        profiles: &Profiles,
        languages: &Languages,
    ) -> Result<Plan, InvalidInput> {
        let jupyter = is_jupyter(&request.kind);
        Ok(Plan {
            name: request.display_name()?,
            profile: profiles.choose(user, request.profile.as_deref())?,
            python: choose(
                languages,
                Language::Python,
                request.python.as_deref(),
                jupyter,
            )?,
            r: choose(languages, Language::R, request.r.as_deref(), jupyter)?,
        })
    }

    /// The limits of the chosen profile.
    pub(crate) fn limits(&self) -> Option<Limits> {
        self.profile.as_ref().map(Profile::limits)
    }

    /// Adds the versions to the command: PATH and `RSTUDIO_WHICH_R` in the
    /// environment, and for Jupyter the kernelspecs (returned, to be written
    /// into the session folder) and the options that offer only them.
    pub(crate) fn apply(
        &self,
        kind: &SessionKind,
        command: &mut IdeCommand,
    ) -> Vec<(PathBuf, String)> {
        let (python, r) = (self.python.as_ref(), self.r.as_ref());
        command.env.extend(languages::session_env(python, r));
        if !is_jupyter(kind) {
            return Vec::new();
        }
        command.args.extend(languages::jupyter_args(python, r));
        languages::kernelspecs(python, r).0
    }
}

fn is_jupyter(kind: &SessionKind) -> bool {
    [SessionKind::JUPYTERLAB, SessionKind::NOTEBOOK].contains(&kind.as_str())
}

fn choose(
    languages: &Languages,
    language: Language,
    asked: Option<&str>,
    needs_kernel: bool,
) -> Result<Option<Interpreter>, InvalidInput> {
    let field = match language {
        Language::Python => "python",
        Language::R => "r",
    };
    let Some(name) = asked else {
        let default = match language {
            Language::Python => languages.default_python(),
            Language::R => languages.default_r(),
        };
        return Ok(default.cloned());
    };
    let found = languages.find(language, name).ok_or_else(|| {
        InvalidInput::new(
            field,
            format!("there is no {} version {name:?} here", language.label()),
        )
    })?;
    if !found.available {
        let reason = found.reason.clone().unwrap_or_default();
        return Err(InvalidInput::new(
            field,
            format!("{} {name} cannot be used: {reason}", language.label()),
        ));
    }
    if needs_kernel && !found.has_kernel() {
        let reason = found
            .jupyter_reason
            .clone()
            .unwrap_or_else(|| "it has no Jupyter kernel".into());
        return Err(InvalidInput::new(
            field,
            format!(
                "{} {name} cannot run in Jupyter: {reason}",
                language.label()
            ),
        ));
    }
    Ok(Some(found.clone()))
}
