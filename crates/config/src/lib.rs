//! The TOML configuration file: parsing, defaults, validation with line numbers.
