-- The team, managed from chat (DESIGN §12.2). People granted a role by an admin, per
-- connection; the config file's people are the seed and are not stored here.
CREATE TABLE team_members (
    connection  TEXT   NOT NULL,
    user_id     TEXT   NOT NULL,
    role        TEXT   NOT NULL,
    user_name   TEXT   NOT NULL,
    granted_by  TEXT   NOT NULL,
    granted_at  BIGINT NOT NULL,
    PRIMARY KEY (connection, user_id)
);

-- A stranger's request to use a connection's bot: pending until an admin presses
-- Allow as viewer / operator / admin or Ignore. At most one a person a connection a day.
CREATE TABLE access_requests (
    id           TEXT   PRIMARY KEY,
    connection   TEXT   NOT NULL,
    user_id      TEXT   NOT NULL,
    user_name    TEXT   NOT NULL,
    chat         TEXT   NOT NULL,
    requested_at BIGINT NOT NULL,
    state        TEXT   NOT NULL,
    role         TEXT,
    decided_by   TEXT,
    decided_at   BIGINT
);

CREATE INDEX access_requests_person ON access_requests (connection, user_id, requested_at);
CREATE INDEX access_requests_recent ON access_requests (connection, requested_at);
