//! The operating-system edge: Linux accounts, processes, signals, privilege drop.
