-- Scheduled posts waiting to be sent again (the platform certainly did not take a part),
-- so that a restart neither loses them nor posts a part twice: `posted` parts are never
-- sent again. A process takes a due row by moving `next_at` past now.
CREATE TABLE delivery_retries (
    task          TEXT    NOT NULL,
    scheduled_for BIGINT  NOT NULL,
    channel       TEXT    NOT NULL,
    recipient     TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    files         TEXT    NOT NULL,
    posted        INTEGER NOT NULL,
    attempt       INTEGER NOT NULL,
    next_at       BIGINT  NOT NULL,
    PRIMARY KEY (task, scheduled_for)
);

CREATE INDEX delivery_retries_due ON delivery_retries (next_at);
