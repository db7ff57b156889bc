-- Discord threads fanops answers in: the thread's channel id, the server channel it hangs
-- off (where tasks created in the thread post by default), and when it was first followed.
-- Kept in the store, not in memory: gateway events are handled concurrently and a replica
-- that takes the gateway over must know the same threads.
CREATE TABLE discord_threads (
    thread      TEXT   PRIMARY KEY,
    parent      TEXT   NOT NULL,
    guild       TEXT   NOT NULL,
    followed_at BIGINT NOT NULL
);
