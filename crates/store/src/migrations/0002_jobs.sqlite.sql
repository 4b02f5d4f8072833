CREATE TABLE jobs (
    id TEXT PRIMARY KEY NOT NULL,
    user_name TEXT NOT NULL REFERENCES users (name),
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    command TEXT NOT NULL,
    workdir TEXT NOT NULL,
    env TEXT NOT NULL,
    python TEXT,
    r TEXT,
    profile TEXT,
    cluster TEXT NOT NULL,
    node TEXT,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    ended_at INTEGER,
    exit_code INTEGER,
    error TEXT,
    handle TEXT
);
CREATE INDEX jobs_user_name ON jobs (user_name);
CREATE INDEX jobs_state ON jobs (state);
CREATE INDEX jobs_created_at ON jobs (created_at);
