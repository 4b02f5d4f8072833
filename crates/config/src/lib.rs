//! Atelier's configuration: one TOML file, every key optional and documented,
//! unknown keys and bad values rejected with the file, line and column.
//!
//! Parsing is pure (text in, [`Config`] or [`ConfigError`] out); reading the
//! file and applying machine-dependent defaults (is the server root? where is
//! home?) is the binary's job. Values are validated while they are parsed, so
//! every error carries the position of the offending value.

mod error;
mod model;
mod values;

pub use error::ConfigError;
pub use model::{
    is_slurm_name, AuthConfig, AuthProvider, ClusterConfig, Config, CustomKind, IdeConfig, IdePath,
    InterpreterConfig, JobsConfig, LanguagesConfig, ProfileConfig, SessionsConfig, TlsConfig,
};
pub use values::{ByteSize, ListenAddr};

/// The configuration file used when `--config` is not given.
pub const DEFAULT_PATH: &str = "/etc/atelier/atelier.toml";

impl Config {
    /// Parses configuration text. `origin` names the file in error messages.
    pub fn parse(origin: &str, text: &str) -> Result<Config, ConfigError> {
        let config: Config =
            toml::from_str(text).map_err(|error| ConfigError::from_toml(origin, text, &error))?;
        config.check(origin)?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests;
