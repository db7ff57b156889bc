-- Connections only one process may hold (Telegram long polling; later a Discord gateway
-- session, Slack Socket Mode): the holder keeps extending its lease, and another process
-- takes over once the lease lapses.
CREATE TABLE leases (
    name        TEXT   PRIMARY KEY,
    owner       TEXT   NOT NULL,
    lease_until BIGINT NOT NULL
);
