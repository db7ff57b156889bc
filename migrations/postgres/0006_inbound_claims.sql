-- Inbound platform events (Telegram updates, webhook deliveries), claimed by one process
-- until answered. The payload is kept so that, when the owner dies before answering,
-- another start takes the claim over once its lease runs out and handles it again.
CREATE TABLE inbound_claims (
    source      TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    owner       TEXT    NOT NULL,
    claimed_at  BIGINT  NOT NULL,
    lease_until BIGINT  NOT NULL,
    attempts    INTEGER NOT NULL,
    answered_at BIGINT,
    -- The "On it…" message posted while handling it, so a takeover edits it into the answer.
    placeholder TEXT,
    PRIMARY KEY (source, id)
);

CREATE INDEX inbound_claims_open ON inbound_claims (source, answered_at, lease_until);

-- Updates claimed before this table existed were answered.
INSERT INTO inbound_claims (source, id, payload, owner, claimed_at, lease_until, attempts, answered_at)
    SELECT scope, name, '', '', claimed_at, claimed_at, 1, claimed_at
    FROM claims WHERE scope = 'telegram.update';
DELETE FROM claims WHERE scope = 'telegram.update';
