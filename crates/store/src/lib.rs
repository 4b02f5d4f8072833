//! Persistent state behind one trait, with SQLite and PostgreSQL implementations.
