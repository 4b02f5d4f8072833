CREATE TABLE users (
    name TEXT PRIMARY KEY NOT NULL,
    role TEXT NOT NULL
);
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    user_name TEXT NOT NULL REFERENCES users (name),
    hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX api_tokens_user_name ON api_tokens (user_name);
CREATE TABLE logins (
    hash TEXT PRIMARY KEY NOT NULL,
    user_name TEXT NOT NULL REFERENCES users (name),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX logins_expires_at ON logins (expires_at);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_name TEXT NOT NULL REFERENCES users (name),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    node TEXT,
    cluster TEXT NOT NULL,
    python TEXT,
    r TEXT,
    profile TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    last_active_at BIGINT,
    ended_at BIGINT,
    error TEXT,
    exit_code INTEGER,
    secret TEXT NOT NULL,
    handle TEXT
);
CREATE INDEX sessions_user_name ON sessions (user_name);
CREATE INDEX sessions_state ON sessions (state);
CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
CREATE TABLE audit (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    user_name TEXT,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT
);
CREATE INDEX audit_at ON audit (at);
