-- Sign-ins to the operations page, shared by every replica. The cookie holds a random
-- session id; only its SHA-256 is kept here, with a fingerprint of the dashboard token
-- it was opened with (an HMAC keyed by the token, never the token), so a session ends on
-- logout, when it expires, or when the token changes.
CREATE TABLE dashboard_sessions (
    id_hash           TEXT   PRIMARY KEY,
    token_fingerprint TEXT   NOT NULL,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL
);

CREATE INDEX dashboard_sessions_expires_at ON dashboard_sessions (expires_at);
