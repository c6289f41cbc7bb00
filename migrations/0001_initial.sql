-- tessera's schema, written once for SQLite and PostgreSQL alike (sqlx's Any driver):
-- ids are TEXT (UUID v7), times are BIGINT unix seconds, flags are BIGINT 0/1.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    disabled      BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- One row per login (device). `refresh_hash` is the SHA-256 of the current refresh token;
-- `generation` counts rotations and `rotated_at` is when the current token was issued.
CREATE TABLE sessions (
    id                  TEXT PRIMARY KEY,
    user_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    refresh_hash        TEXT NOT NULL UNIQUE,
    generation          BIGINT NOT NULL,
    rotated_at          BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    last_used_at        BIGINT NOT NULL,
    idle_expires_at     BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL,
    revoked_at          BIGINT,
    revoke_reason       TEXT,
    ip                  TEXT,
    user_agent          TEXT
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_idle_expires_at ON sessions (idle_expires_at);

-- Every refresh token that was rotated out, kept until its session is deleted, so that a
-- replay of any of them is recognised as reuse.
CREATE TABLE retired_refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    generation BIGINT NOT NULL,
    retired_at BIGINT NOT NULL
);
CREATE INDEX retired_refresh_tokens_session_id ON retired_refresh_tokens (session_id);

-- Failed-login counters, per account ("user:NAME") and per client address ("ip:ADDR").
CREATE TABLE login_throttle (
    throttle_key    TEXT PRIMARY KEY,
    failures        BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    blocked_until   BIGINT NOT NULL
);

-- The example resource.
CREATE TABLE properties (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    address     TEXT,
    price       DOUBLE PRECISION,
    description TEXT,
    created_by  TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX properties_created_at ON properties (created_at, id);
