//! Launching sessions: the backend trait, the local backend and the session supervisor.
