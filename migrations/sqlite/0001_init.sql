-- Initial schema. Kept identical to migrations/postgres/0001_init.sql except for the
-- auto-incrementing keys: timestamps are BIGINT Unix milliseconds and JSON is TEXT, so
-- the application's SQL runs unchanged on both backends.

-- One row per message; `seq` gives the conversation's order.
CREATE TABLE conversation_messages (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation TEXT    NOT NULL,
    -- The StoredMessage as JSON; its `tokens` field is ignored on read (see `tokens`).
    body         TEXT    NOT NULL,
    tokens       BIGINT  NOT NULL,
    -- Copied out of `body` so a tool result can be found without parsing JSON.
    tool_call_id TEXT,
    created_at   BIGINT  NOT NULL
);
CREATE INDEX conversation_messages_conversation_seq
    ON conversation_messages (conversation, seq);
CREATE INDEX conversation_messages_tool_call
    ON conversation_messages (conversation, tool_call_id);

CREATE TABLE pending_actions (
    id           TEXT   PRIMARY KEY,
    conversation TEXT   NOT NULL,
    platform     TEXT   NOT NULL,
    requested_by TEXT   NOT NULL,
    tool         TEXT   NOT NULL,
    tool_call_id TEXT   NOT NULL,
    arguments    TEXT   NOT NULL,
    summary      TEXT   NOT NULL,
    status       TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    decided_by   TEXT,
    decided_at   BIGINT,
    result       TEXT
);
CREATE INDEX pending_actions_conversation_status
    ON pending_actions (conversation, status);

-- `user` is reserved in PostgreSQL, hence `user_name`. `day` is the UTC date of `at`
-- (YYYY-MM-DD), written by the application so no date functions are needed.
CREATE TABLE usage_ledger (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    at                BIGINT           NOT NULL,
    day               TEXT             NOT NULL,
    platform          TEXT             NOT NULL,
    user_name         TEXT             NOT NULL,
    kind              TEXT             NOT NULL,
    model             TEXT,
    task              TEXT,
    conversation      TEXT,
    source            TEXT             NOT NULL,
    endpoint          TEXT,
    prompt_tokens     BIGINT           NOT NULL,
    completion_tokens BIGINT           NOT NULL,
    cached_tokens     BIGINT           NOT NULL,
    credits           DOUBLE PRECISION NOT NULL,
    cost_usd          DOUBLE PRECISION NOT NULL,
    api_credits       DOUBLE PRECISION NOT NULL
);
CREATE INDEX usage_ledger_at ON usage_ledger (at);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      BIGINT NOT NULL,
    actor   TEXT   NOT NULL,
    action  TEXT   NOT NULL,
    subject TEXT,
    detail  TEXT   NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
