-- Real-time events, stored before the sender is answered, so nothing is lost when the
-- process dies right after the 200. `dedup_key` refuses a second copy while it lasts
-- (`dedup_until`); once it lapses the key is released (set to the event's own id).
CREATE TABLE events (
    id          TEXT   PRIMARY KEY,
    dedup_key   TEXT   NOT NULL UNIQUE,
    dedup_until BIGINT NOT NULL,
    source      TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    account     TEXT,
    occurred_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    fields      TEXT   NOT NULL,
    raw         TEXT   NOT NULL,
    -- Set once every rule has had the event; NULL rows are picked up again after a crash.
    processed_at BIGINT
);
CREATE INDEX events_received ON events (received_at);
CREATE INDEX events_unprocessed ON events (processed_at, received_at);

-- What each rule did with each event. The primary key is the claim: an event is handled
-- once per rule, however many replicas see it. `batch` is the start of the digest
-- window an event waits in.
CREATE TABLE event_outcomes (
    event_id TEXT   NOT NULL,
    rule     TEXT   NOT NULL,
    outcome  TEXT   NOT NULL,
    batch    BIGINT,
    at       BIGINT NOT NULL,
    PRIMARY KEY (event_id, rule)
);
CREATE INDEX event_outcomes_batch ON event_outcomes (rule, batch);
