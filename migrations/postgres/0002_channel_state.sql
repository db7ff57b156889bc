-- Small durable facts channels keep across restarts (e.g. Telegram's update offset).
CREATE TABLE channel_state (
    name       TEXT   PRIMARY KEY,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Claims of things that must happen once (an inbound update, a webhook delivery):
-- the first insert of (scope, name) wins.
CREATE TABLE claims (
    scope      TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    claimed_at BIGINT NOT NULL,
    PRIMARY KEY (scope, name)
);
